package wal

import (
	"encoding/binary"
	"errors"
	"math"
)

var errTombstoneRange = errors.New("tombstone interval past the largest timestamp")

// maxSpan is the largest maxT-minT that keeps maxT an int64.
func maxSpan(mint int64) uint64 {
	if mint >= 0 {
		return uint64(math.MaxInt64 - mint)
	}
	return uint64(math.MaxInt64) + uint64(-(mint + 1)) + 1
}

// RefTombstone deletes the samples of a series in [MinT, MaxT] (inclusive),
// as the admin API's delete_series asks. It is logged after every sample of
// the series it covers: replay applies it once the samples logged before it
// are in memory.
type RefTombstone struct {
	Ref        SeriesRef
	MinT, MaxT int64
}

// AppendTombstonesRecord appends a tombstones record holding s to dst.
//
//	type(1) count(uvarint) { refDelta(varint) minT(varint) span(uvarint: maxT-minT) }*
func AppendTombstonesRecord(dst []byte, s []RefTombstone) []byte {
	dst = append(dst, byte(RecordTombstones))
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	var prev SeriesRef
	for i := range s {
		dst = binary.AppendUvarint(dst, zigzag(int64(s[i].Ref-prev)))
		prev = s[i].Ref
		dst = binary.AppendUvarint(dst, zigzag(s[i].MinT))
		dst = binary.AppendUvarint(dst, uint64(s[i].MaxT-s[i].MinT))
	}
	return dst
}

// DecodeTombstonesRecord appends the tombstones of rec to dst.
func DecodeTombstonesRecord(rec []byte, dst []RefTombstone) ([]RefTombstone, error) {
	d := decoder{b: rec}
	d.header(RecordTombstones)
	n := d.count(3)
	dst = growSlice(dst, n)
	var prev SeriesRef
	for i := 0; i < n && d.err == nil; i++ {
		ref := prev + SeriesRef(d.varint())
		prev = ref
		mint := d.varint()
		span := d.uvarint()
		if d.err == nil && span > maxSpan(mint) {
			d.fail(errTombstoneRange)
		}
		if d.err == nil {
			dst = append(dst, RefTombstone{Ref: ref, MinT: mint, MaxT: mint + int64(span)})
		}
	}
	return dst, d.end(RecordTombstones)
}
