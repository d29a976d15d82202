package backfill

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/tsdb"

	"mytsdb/storage/block"
)

// ImportPrometheusBlocks writes every Prometheus block found in srcDir (a
// Prometheus data directory, or any directory of block directories) as a
// mytsdb block of the same ULID into blocksDir, reading them with the
// upstream tsdb package; srcDir is not changed. Blocks already imported
// (their ULID present in blocksDir) are skipped, so an interrupted import
// can be run again.
func ImportPrometheusBlocks(ctx context.Context, srcDir, blocksDir string, logger *slog.Logger) ([]block.Meta, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	entries, err := os.ReadDir(srcDir)
	if err != nil {
		return nil, fmt.Errorf("backfill: import: %w", err)
	}
	var out []block.Meta
	for _, e := range entries {
		id, err := ulid.ParseStrict(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(srcDir, e.Name(), "meta.json")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(blocksDir, e.Name())); err == nil {
			logger.Info("Block already imported", "block", e.Name())
			continue
		}
		m, err := importBlock(ctx, filepath.Join(srcDir, e.Name()), id, blocksDir, logger)
		if err != nil {
			return out, fmt.Errorf("backfill: import block %s: %w", e.Name(), err)
		}
		out = append(out, m)
	}
	return out, nil
}

func importBlock(ctx context.Context, dir string, id ulid.ULID, blocksDir string, logger *slog.Logger) (_ block.Meta, err error) {
	b, err := tsdb.OpenBlock(logger, dir, nil, nil)
	if err != nil {
		return block.Meta{}, err
	}
	defer func() {
		if cerr := b.Close(); err == nil {
			err = cerr
		}
	}()
	q, err := tsdb.NewBlockChunkQuerier(b, b.MinTime(), b.MaxTime()-1)
	if err != nil {
		return block.Meta{}, err
	}
	defer q.Close()
	return block.Write(ctx, blocksDir, q.Select(ctx, true, nil, allSeries), block.WriteOptions{
		MinTime: b.MinTime(), MaxTime: b.MaxTime(), ULID: id, Logger: logger,
	})
}
