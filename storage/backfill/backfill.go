// Package backfill turns OpenMetrics text with timestamps into mytsdb blocks,
// as promtool's `tsdb create-blocks-from openmetrics` turns it into
// Prometheus's: one block per block-duration range that holds samples,
// written into a tenant's blocks directory, where a running server picks
// them up within --storage.tsdb.block-reload-interval.
//
// It parses with the upstream textparse OpenMetrics parser, buffers one
// range at a time in an in-memory head of ours and writes with
// storage/block; it writes nothing but new block directories (each through
// a temporary directory and a rename).
package backfill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"mytsdb/storage/block"
	"mytsdb/storage/head"
)

// DefaultBlockDuration is promtool's default (2h, in ms).
const DefaultBlockDuration = int64(2 * 60 * 60 * 1000)

// maxPending is how many samples one appender holds before a commit, as
// promtool's --max-samples-in-memory bounds it.
const maxPending = 5000

var allSeries = labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".*")

// FromOpenMetrics writes the samples of input into blocksDir. Every sample
// must carry a timestamp (promtool's rule); customLabels are added to (or
// override) every series' labels.
func FromOpenMetrics(ctx context.Context, input []byte, blocksDir string, blockDuration int64, customLabels map[string]string, logger *slog.Logger) ([]block.Meta, error) {
	if blockDuration <= 0 {
		blockDuration = DefaultBlockDuration
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mint, maxt, err := timeRange(input)
	if err != nil {
		return nil, fmt.Errorf("backfill: getting min and max timestamp: %w", err)
	}
	if mint > maxt {
		return nil, nil
	}
	var out []block.Meta
	for lo := blockDuration * (mint / blockDuration); lo <= maxt; lo += blockDuration {
		m, err := writeRange(ctx, input, lo, lo+blockDuration, blocksDir, blockDuration, customLabels, logger)
		if err != nil {
			return out, fmt.Errorf("backfill: block creation: range [%d, %d): %w", lo, lo+blockDuration, err)
		}
		if m != nil {
			out = append(out, *m)
		}
	}
	return out, nil
}

// timeRange is the first and last timestamp of input.
func timeRange(input []byte) (mint, maxt int64, err error) {
	mint, maxt = math.MaxInt64, math.MinInt64
	p := textparse.NewOpenMetricsParser(input, nil)
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return mint, maxt, nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("next: %w", err)
		}
		if e != textparse.EntrySeries {
			continue
		}
		_, ts, _ := p.Series()
		if ts == nil {
			return 0, 0, errors.New("expected timestamp for series got none")
		}
		mint, maxt = min(mint, *ts), max(maxt, *ts)
	}
}

// writeRange writes the samples in [lo, hi) as one block; nil when none.
func writeRange(ctx context.Context, input []byte, lo, hi int64, blocksDir string, blockDuration int64, customLabels map[string]string, logger *slog.Logger) (_ *block.Meta, err error) {
	// Twice the block range, so that in-order appends anywhere in the
	// range are accepted (promtool does the same with its block writer).
	hd, err := head.New(head.Options{ChunkRange: 2 * blockDuration, MaxExemplars: -1, Logger: logger})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, hd.Close()) }()
	app := hd.Appender(ctx)
	pending, n := 0, 0
	bmin, bmax := int64(math.MaxInt64), int64(math.MinInt64)
	lb := labels.NewBuilder(labels.EmptyLabels())
	p := textparse.NewOpenMetricsParser(input, labels.NewSymbolTable())
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = app.Rollback()
			return nil, fmt.Errorf("parse: %w", err)
		}
		if e != textparse.EntrySeries {
			continue
		}
		_, ts, v := p.Series()
		if ts == nil || *ts < lo || *ts >= hi {
			continue
		}
		var l labels.Labels
		p.Labels(&l)
		lb.Reset(l)
		for name, value := range customLabels {
			lb.Set(name, value)
		}
		if _, err := app.Append(0, lb.Labels(), *ts, v); err != nil {
			_ = app.Rollback()
			return nil, fmt.Errorf("add sample: %w", err)
		}
		bmin, bmax = min(bmin, *ts), max(bmax, *ts)
		n++
		if pending++; pending >= maxPending {
			if err := app.Commit(); err != nil {
				return nil, fmt.Errorf("commit: %w", err)
			}
			app, pending = hd.Appender(ctx), 0
		}
	}
	if err := app.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	q, err := hd.ChunkQuerier(bmin, bmax)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, q.Close()) }()
	// The block's range is that of its samples, as Prometheus's block
	// writer sets it.
	m, err := block.Write(ctx, blocksDir, q.Select(ctx, true, nil, allSeries), block.WriteOptions{MinTime: bmin, MaxTime: bmax + 1, Logger: logger})
	if err != nil {
		return nil, err
	}
	logger.Info("Block written", "block", m.ULID, "mint", m.MinTime, "maxt", m.MaxTime, "series", m.Stats.NumSeries, "samples", m.Stats.NumSamples)
	return &m, nil
}
