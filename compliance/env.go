package compliance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"mytsdb/compliance/datagen"
	"mytsdb/compliance/server"
	"mytsdb/compliance/targets"
)

// Options configure an Env.
type Options struct {
	// Candidate is "mytsdb" (default) or "prometheus".
	Candidate string
	// Blocks is the short-block mode: both servers run with
	// --storage.tsdb.min-block-duration=BlockRange and
	// --storage.tsdb.max-block-duration=MaxBlockRange, Load writes the data
	// in time order (datagen.TimeOrderedWrites) so that it is cut into
	// blocks and compacted while it arrives, and waits for that layout
	// (WaitBlocks) before the queries.
	Blocks bool
	// Parquet is the short-block mode (it sets Blocks) with the candidate's
	// blocks only in its Parquet tier: mytsdb runs with
	// --storage.parquet.local-retention=0s, so each block is uploaded to
	// the default FILESYSTEM bucket, verified and removed locally in the
	// round that cuts it, and WaitBlocks waits until the candidate holds no
	// local block before the queries run. The candidate must be mytsdb.
	Parquet bool
	// BlocksQuiet is how long, from Start, the short-block run needs without
	// a head cut (default DefaultBlocksQuiet); Start waits up to that long
	// for one to pass first (see BlocksBase).
	BlocksQuiet time.Duration
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// The block ranges of the short-block mode. The data set spans 45 minutes
// (datagen.Span), nine ranges of BlockRange; compaction merges up to three of
// them into one block of MaxBlockRange.
const (
	BlockRange    = 5 * time.Minute
	MaxBlockRange = 3 * BlockRange
)

// BlockFlags are the flags both servers get in the short-block mode.
func BlockFlags() []string {
	return []string{
		"--storage.tsdb.min-block-duration=" + model.Duration(BlockRange).String(),
		"--storage.tsdb.max-block-duration=" + model.Duration(MaxBlockRange).String(),
	}
}

// ParquetFlags are the candidate's extra flags in the Parquet mode.
func ParquetFlags() []string {
	return []string{"--storage.parquet.local-retention=0s"}
}

// Env is a running side-by-side setup: fixture targets, the reference and the
// candidate server, and the data set's base time.
type Env struct {
	Ref, Cand *server.Server
	Targets   *targets.Set
	Base      int64 // Unix ms; see datagen.Base (BlocksBase in the short-block mode)
	Blocks    bool  // the short-block mode (Options.Blocks)
	Parquet   bool  // the candidate's blocks only in its Parquet tier (Options.Parquet)
	dir       string
	cfg       string   // the config file both servers read
	flags     []string // the flags both servers got beyond server.Start's
	retired   []*server.Server
	logf      func(string, ...any)
}

// Start starts the fixture targets and both servers (in parallel) on the
// same config. It does not load data: see Load.
func Start(ctx context.Context, o Options) (_ *Env, err error) {
	if o.Candidate == "" {
		o.Candidate = "mytsdb"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Parquet {
		if o.Candidate != "mytsdb" {
			return nil, fmt.Errorf("compliance: the Parquet mode needs the mytsdb candidate, not %q", o.Candidate)
		}
		o.Blocks = true
	}
	e := &Env{logf: o.Logf, Blocks: o.Blocks, Parquet: o.Parquet}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.dir, err = os.MkdirTemp("", "mytsdb-compliance-"); err != nil {
		return nil, fmt.Errorf("compliance: temp dir: %w", err)
	}
	refBin, err := server.PrometheusBinary()
	if err != nil {
		return nil, err
	}
	var candBin string
	switch o.Candidate {
	case "prometheus":
		candBin = refBin
	case "mytsdb":
		e.logf("building or locating mytsdb")
		if candBin, err = server.MytsdbBinary(e.dir); err != nil {
			return nil, fmt.Errorf("compliance: candidate mytsdb: %w", err)
		}
	default:
		return nil, fmt.Errorf("compliance: unknown candidate %q (want mytsdb or prometheus)", o.Candidate)
	}
	e.Targets = targets.Start()
	cfg := filepath.Join(e.dir, "prometheus.yml")
	e.cfg = cfg
	initial := Config(e.Targets)
	extra := FreshFlags()
	if o.Blocks {
		initial = GlobalConfig() // Load reloads Config once the data is in
		extra = append(extra, BlockFlags()...)
	}
	if err := os.WriteFile(cfg, []byte(initial), 0o644); err != nil {
		return nil, fmt.Errorf("compliance: write config: %w", err)
	}
	e.flags = extra
	e.Base = datagen.Base(time.Now())
	if o.Blocks {
		if o.BlocksQuiet == 0 {
			o.BlocksQuiet = DefaultBlocksQuiet
		}
		var wait time.Duration
		e.Base, wait = BlocksBase(time.Now(), o.BlocksQuiet)
		if wait > 0 {
			e.logf("short-block mode: waiting %s for a head cut to pass before starting", wait.Round(time.Second))
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
		}
	}
	var wg sync.WaitGroup
	var refErr, candErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		e.Ref, refErr = server.Start(ctx, server.Options{Name: "reference", Binary: refBin, ConfigFile: cfg, ExtraFlags: extra})
	}()
	candExtra := extra
	if o.Parquet {
		candExtra = append(slices.Clone(extra), ParquetFlags()...)
	}
	go func() {
		defer wg.Done()
		e.Cand, candErr = server.Start(ctx, server.Options{Name: "candidate", Binary: candBin, ConfigFile: cfg, ExtraFlags: candExtra})
	}()
	wg.Wait()
	if refErr != nil {
		return nil, refErr
	}
	if candErr != nil {
		return nil, candErr
	}
	e.logf("reference %s at %s, candidate %s at %s", refBin, e.Ref.URL, candBin, e.Cand.URL)
	return e, nil
}

// Close stops the servers and targets and removes the temp dir.
func (e *Env) Close() {
	if e.Ref != nil {
		_ = e.Ref.Stop()
	}
	if e.Cand != nil {
		_ = e.Cand.Stop()
	}
	for _, s := range e.retired { // after the candidate that took their data over
		_ = s.Stop()
	}
	if e.Targets != nil {
		e.Targets.Close()
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}
