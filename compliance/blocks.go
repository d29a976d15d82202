package compliance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"mytsdb/compliance/compare"
	"mytsdb/compliance/corpus"
	"mytsdb/compliance/datagen"
)

// BlocksTimeout bounds WaitBlocks in Load. Both servers cut their head as
// soon as an append makes it span more than 1.5 ranges, and Prometheus also
// compacts once a minute (--storage.tsdb.block-reload-interval's loop), so
// one such minute and some slack suffice.
const BlocksTimeout = 90 * time.Second

// Minimum layout the short-block mode waits for before the query phase.
const (
	minBlocks          = 3 // on both servers
	minCandidateLevel  = 2 // some block of the candidate's is a compaction
	blocksPollInterval = 250 * time.Millisecond
	blocksSettle       = time.Second // a layout unchanged this long is settled
)

// HeadData is how much of the data set stays in the head in the short-block
// mode: the samples in [base+Span-HeadData, base+Span] (and the trailing stale
// markers); everything before lies in blocks.
const HeadData = time.Minute

// DefaultBlocksQuiet is the default of Options.BlocksQuiet.
const DefaultBlocksQuiet = 60 * time.Second

// BlocksBase returns the data set's base time (Unix ms) for a short-block run
// started at now, and how long to wait before starting it.
//
// Both servers cut their head into a block of BlockRange as soon as it spans
// more than 1.5 ranges, so once scrapes bring the head up to now it starts
// at headStart, the range boundary at or before now-BlockRange/2, and the
// next cut comes at the wall-clock time headStart+1.5*BlockRange. The base
// puts the data's last HeadData at headStart, so the data spans blocks (more
// than eight ranges) and the head; and if the next cut would come less than
// quiet after now, the run first waits for it, so that no cut moves data
// while the cases run: the head (what /api/v1/status/tsdb describes) and
// which blocks a query reads are then the same on both servers.
func BlocksBase(now time.Time, quiet time.Duration) (base int64, wait time.Duration) {
	r := BlockRange.Milliseconds()
	headStart := func(now int64) int64 { return floorTo(now-r/2, r) }
	t := now.UnixMilli()
	if next := headStart(t) + 3*r/2; next-t < quiet.Milliseconds() {
		wait = time.Duration(next-t)*time.Millisecond + 2*time.Second
		t += wait.Milliseconds()
	}
	return headStart(t) - (datagen.Span - HeadData).Milliseconds(), wait
}

// floorTo rounds t (Unix ms, after 1970) down to a multiple of r, as block
// boundaries are.
func floorTo(t, r int64) int64 { return t - t%r }

// headStart is where the short-block mode's head begins: base+Span-HeadData.
func (e *Env) headStart() int64 { return e.Base + (datagen.Span - HeadData).Milliseconds() }

// Block is one entry of /api/v1/status/tsdb/blocks (the fields the harness
// reads).
type Block struct {
	ULID       string `json:"ulid"`
	MinTime    int64  `json:"minTime"`
	MaxTime    int64  `json:"maxTime"`
	Compaction struct {
		Level int `json:"level"`
	} `json:"compaction"`
	Tier string `json:"tier"` // mytsdb's: "parquet" for a block held only in its bucket
}

// Blocks lists a server's blocks through /api/v1/status/tsdb/blocks.
func Blocks(ctx context.Context, serverURL string) ([]Block, error) {
	resp := do(ctx, serverURL, corpus.Request{Method: "GET", Path: "/api/v1/status/tsdb/blocks"})
	if resp.Err != nil {
		return nil, resp.Err
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("%s: /api/v1/status/tsdb/blocks: HTTP %d: %.200s", serverURL, resp.Status, resp.Body)
	}
	var r struct {
		Data struct {
			Blocks []Block `json:"blocks"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return nil, fmt.Errorf("%s: /api/v1/status/tsdb/blocks: %w", serverURL, err)
	}
	return r.Data.Blocks, nil
}

// ParquetCases adapts the corpus to the Parquet mode: the block list
// (/api/v1/status/tsdb/blocks) describes where the data lives, which the
// mode changes by design (the candidate's blocks carry "tier": "parquet"
// and are not compacted), so it goes; every other case stays as it is.
func ParquetCases(cases []corpus.Case) []corpus.Case {
	var out []corpus.Case
	for _, c := range cases {
		if c.Kind == corpus.API && c.Resolve(0).Path == "/api/v1/status/tsdb/blocks" {
			continue
		}
		out = append(out, c)
	}
	return out
}

func maxLevel(bs []Block) int {
	m := 0
	for _, b := range bs {
		m = max(m, b.Compaction.Level)
	}
	return m
}

// describeBlocks renders a block list relative to base, one block a line.
func describeBlocks(bs []Block, err error, base int64) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d blocks\n", len(bs))
	rel := func(t int64) string { return (time.Duration(t-base) * time.Millisecond).String() }
	for _, bl := range bs {
		fmt.Fprintf(&b, "[%s, %s) level %d", rel(bl.MinTime), rel(bl.MaxTime), bl.Compaction.Level)
		if bl.Tier != "" {
			fmt.Fprintf(&b, " (%s)", bl.Tier)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// WaitBlocks polls both servers' block lists until each has at least
// minBlocks blocks, the newest ending where the head is to begin
// (base+Span-HeadData), the candidate has one of compaction level
// minCandidateLevel or more, and neither list has changed for blocksSettle;
// or until timeout. The outcome fails if that layout was not reached: the
// short-block mode would otherwise compare a layout it did not set up.
//
// In the Parquet mode (e.Parquet) the candidate's blocks must instead all
// be held only in its bucket ("tier": "parquet"); they are level 1 (each is
// uploaded and dropped in the round that cuts it, before a compaction could
// take it).
func (e *Env) WaitBlocks(ctx context.Context, refURL, candURL string, timeout time.Duration) Outcome {
	name := fmt.Sprintf("block layout: at least %d blocks on both servers, the newest ending at +%s, one of level >= %d on the candidate, within %s",
		minBlocks, datagen.Span-HeadData, minCandidateLevel, timeout)
	candLevel := minCandidateLevel
	if e.Parquet {
		name = fmt.Sprintf("block layout: at least %d blocks on both servers, the newest ending at +%s, all of the candidate's only in its Parquet tier, within %s",
			minBlocks, datagen.Span-HeadData, timeout)
		candLevel = 0
	}
	start := time.Now()
	deadline := start.Add(timeout)
	enough := func(bs []Block, err error, level int) bool {
		return err == nil && len(bs) >= minBlocks && bs[len(bs)-1].MaxTime == e.headStart() && maxLevel(bs) >= level
	}
	candEnough := func(bs []Block, err error) bool {
		if !enough(bs, err, candLevel) {
			return false
		}
		if e.Parquet {
			for _, b := range bs {
				if b.Tier != "parquet" {
					return false
				}
			}
		}
		return true
	}
	var lastRef, lastCand string
	var stableSince time.Time
	for {
		ref, refErr := Blocks(ctx, refURL)
		cand, candErr := Blocks(ctx, candURL)
		refText, candText := describeBlocks(ref, refErr, e.Base), describeBlocks(cand, candErr, e.Base)
		if refText != lastRef || candText != lastCand {
			lastRef, lastCand, stableSince = refText, candText, time.Now()
		}
		ok := enough(ref, refErr, 0) && candEnough(cand, candErr) && time.Since(stableSince) >= blocksSettle
		if ok || time.Now().After(deadline) || ctx.Err() != nil {
			r := compare.Result{OK: ok, Ref: describeBlocks(ref, refErr, e.Base), Cand: describeBlocks(cand, candErr, e.Base)}
			if ok {
				e.logf("block layout reached after %s: reference %d blocks (max level %d), candidate %d blocks (max level %d)",
					time.Since(start).Round(time.Millisecond), len(ref), maxLevel(ref), len(cand), maxLevel(cand))
				switch {
				case e.Parquet:
					e.logf("the layouts (the candidate's in its Parquet tier by design):\n%s", r.SideBySide(40))
				case refText != candText:
					e.logf("the two layouts differ (the /api/v1/status/tsdb/blocks case compares them):\n%s", r.SideBySide(40))
				}
			} else {
				r.Reason = fmt.Sprintf("not reached after %s: reference %d blocks (max level %d), candidate %d blocks (max level %d)",
					time.Since(start).Round(time.Millisecond), len(ref), maxLevel(ref), len(cand), maxLevel(cand))
			}
			return Outcome{Name: name, Result: r}
		}
		select {
		case <-ctx.Done():
		case <-time.After(blocksPollInterval):
		}
	}
}
