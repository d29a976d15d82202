package compaction

import (
	"cmp"

	"github.com/oklog/ulid/v2"
)

// Reasons of an Expiry.
const (
	ReasonTime = "time"
	ReasonSize = "size"
)

// Expiry is one block retention deletes, and why.
type Expiry struct {
	ID     ulid.ULID
	Reason string // ReasonTime or ReasonSize
}

// Expired returns the blocks retention deletes, oldest first, as Prometheus
// v0.316's BeyondTimeRetention and BeyondSizeRetention decide over blocks
// sorted by MaxTime, newest first:
//
//   - time (retention ms > 0): the first block, other than the newest, whose
//     MaxTime is at least retention older than the newest block's MaxTime,
//     and every block after it. The reference is the newest block's MaxTime,
//     not the head's, so the newest block is never deleted for time and a
//     single block never is.
//   - size (maxBytes > 0): starting from extraBytes (Prometheus's
//     Head.Size(): WAL, WBL and head chunk files), add each block's Size; the
//     first block that takes the sum above maxBytes (equal is kept), and
//     every block after it. This may delete the newest block.
//
// Blocks with equal MaxTime are ordered as Prometheus orders them (by ULID,
// then its unstable sort), which decides which of them the size rule takes;
// "oldest first" is the reverse of that order. A block both rules delete is
// reported for time. Pass every loaded block, those about to be deleted for
// other reasons (parents of a compacted block) included: Prometheus counts
// their bytes. Prometheus's --storage.tsdb.retention.percentage is the
// caller's to turn into maxBytes; a negative retention, which Prometheus's
// tsdb would apply, is treated as none.
func Expired(blocks []Block, retention, maxBytes, extraBytes int64) []Expiry {
	if len(blocks) == 0 {
		return nil
	}
	s := byIDThen(blocks, func(a, b Block) int { return cmp.Compare(b.MaxTime, a.MaxTime) })

	timeFrom, sizeFrom := len(s), len(s)
	if retention > 0 {
		for i := 1; i < len(s); i++ {
			if s[0].MaxTime-s[i].MaxTime >= retention {
				timeFrom = i
				break
			}
		}
	}
	if maxBytes > 0 {
		sum := extraBytes
		for i, b := range s {
			sum += b.Size
			if sum > maxBytes {
				sizeFrom = i
				break
			}
		}
	}

	var res []Expiry
	for i := len(s) - 1; i >= min(timeFrom, sizeFrom); i-- {
		reason := ReasonSize
		if i >= timeFrom {
			reason = ReasonTime
		}
		res = append(res, Expiry{ID: s[i].ID, Reason: reason})
	}
	return res
}
