// Package export writes what a storage.Queryable holds as Prometheus TSDB
// blocks (the upstream tsdb block writer), so that leaving mytsdb keeps the
// history: a real Prometheus started with --storage.tsdb.path at the output
// directory serves it.
//
// It reads through the upstream storage.Querier interface only and writes
// only under the output directory; it knows nothing of mytsdb's formats.
package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// DefaultBlockDuration is Prometheus's block range (2h, in ms).
const DefaultBlockDuration = int64(2 * 60 * 60 * 1000)

// maxPending is how many samples one appender holds before a commit.
const maxPending = 5000

// Block is one block written.
type Block struct {
	ULID       ulid.ULID
	MinTime    int64
	MaxTime    int64
	NumSeries  uint64
	NumSamples uint64
}

// Export writes the samples of q in [mint, maxt] into dir as Prometheus
// blocks of blockDuration ms (aligned as Prometheus aligns them), one per
// range that holds data, and returns them in time order.
func Export(ctx context.Context, q storage.Queryable, mint, maxt int64, dir string, blockDuration int64, logger *slog.Logger) ([]Block, error) {
	if blockDuration <= 0 {
		blockDuration = DefaultBlockDuration
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if mint > maxt {
		return nil, nil
	}
	var out []Block
	start := blockDuration * floorDiv(mint, blockDuration)
	for lo := start; lo <= maxt; {
		hi := lo + blockDuration // exclusive
		b, err := exportRange(ctx, q, max(lo, mint), min(hi-1, maxt), dir, blockDuration, logger)
		if err != nil {
			return out, fmt.Errorf("export: range [%d, %d): %w", lo, hi, err)
		}
		if b != nil {
			out = append(out, *b)
		}
		if hi <= lo { // overflow at the end of time
			break
		}
		lo = hi
	}
	return out, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// exportRange writes one block holding [mint, maxt]; nil when it is empty.
func exportRange(ctx context.Context, q storage.Queryable, mint, maxt int64, dir string, blockDuration int64, logger *slog.Logger) (_ *Block, err error) {
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, qr.Close()) }()
	// The writer's head takes samples up to half its range behind its
	// newest one; twice the block range lets every series start at mint,
	// as promtool's backfill does.
	w, err := tsdb.NewBlockWriter(logger, dir, 2*blockDuration)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, w.Close()) }()

	set := qr.Select(ctx, true, &storage.SelectHints{Start: mint, End: maxt}, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".*"))
	app := w.Appender(ctx)
	pending := 0
	var series, samples uint64
	var it chunkenc.Iterator
	for set.Next() {
		s := set.At()
		lset := s.Labels()
		var ref storage.SeriesRef
		n := 0
		it = s.Iterator(it)
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			t := it.AtT()
			if t < mint || t > maxt {
				continue
			}
			switch vt {
			case chunkenc.ValFloat:
				_, v := it.At()
				ref, err = app.Append(ref, lset, t, v)
			case chunkenc.ValHistogram:
				_, h := it.AtHistogram(nil)
				ref, err = app.AppendHistogram(ref, lset, t, h, nil)
			case chunkenc.ValFloatHistogram:
				_, fh := it.AtFloatHistogram(nil)
				ref, err = app.AppendHistogram(ref, lset, t, nil, fh)
			}
			if err != nil {
				_ = app.Rollback()
				return nil, fmt.Errorf("append %s at %d: %w", lset, t, err)
			}
			n++
			if pending++; pending >= maxPending {
				if err := app.Commit(); err != nil {
					return nil, err
				}
				app, pending = w.Appender(ctx), 0
			}
		}
		if err := it.Err(); err != nil {
			_ = app.Rollback()
			return nil, fmt.Errorf("read %s: %w", lset, err)
		}
		if n > 0 {
			series++
			samples += uint64(n)
		}
	}
	if err := set.Err(); err != nil {
		_ = app.Rollback()
		return nil, err
	}
	if err := app.Commit(); err != nil {
		return nil, err
	}
	if series == 0 {
		return nil, nil
	}
	id, err := w.Flush(ctx)
	if err != nil {
		return nil, err
	}
	logger.Info("Block written", "block", id, "mint", mint, "maxt", maxt, "series", series, "samples", samples)
	return &Block{ULID: id, MinTime: mint, MaxTime: maxt, NumSeries: series, NumSamples: samples}, nil
}
