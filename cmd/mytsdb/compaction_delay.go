package main

import (
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"mytsdb/storage/block"
	"mytsdb/storage/head"
)

// defaultCompactionDelayMaxPercent is Prometheus's
// tsdb.DefaultCompactionDelayMaxPercent.
const defaultCompactionDelayMaxPercent = 10

// compactionDelay is the random head-cut delay of the delayed-compaction
// feature, drawn once per start as Prometheus draws it: up to
// --storage.tsdb.delayed-compaction.max-percent of the head chunk range.
func (s *server) compactionDelay() time.Duration {
	if !s.features.delayedCompaction {
		return 0
	}
	pct := s.cfg.delayedCompactionMaxPct
	if pct > 100 || pct <= 0 {
		s.logger.Warn("The --storage.tsdb.delayed-compaction.max-percent should have a value between 1 and 100. Using default", "default", defaultCompactionDelayMaxPercent)
		pct = defaultCompactionDelayMaxPercent
	}
	r := s.chunkRange
	if r == 0 {
		r = head.DefaultChunkRange
	}
	limit := r * int64(pct) / 100
	if limit <= 0 {
		return 0
	}
	d := time.Duration(rand.Int64N(limit)) * time.Millisecond
	s.logger.Info("Head compactions are delayed", "delay", d)
	return d
}

// uploadMeta is the file --storage.tsdb.delay-compact-file.path names: the
// Thanos shipper's meta file, whose "uploaded" lists block ULIDs.
type uploadMeta struct {
	Uploaded []string `json:"uploaded"`
}

// uploadedOnly returns the compaction exclusion of
// --storage.tsdb.delay-compact-file.path: level-1 blocks not listed as
// uploaded are kept out of compactions (with every later block), so that a
// sidecar ships each block before it is merged away. As in Prometheus, the
// file is read at most once a minute, and a file that cannot be read or
// parsed delays nothing (with a warning). nil when the flag is empty.
func uploadedOnly(path string, logger *slog.Logger) func(block.Meta) bool {
	if path == "" {
		return nil
	}
	logger.Info("Compactions will be delayed for blocks not marked as uploaded in the file tracking uploads", "path", path)
	var (
		mu     sync.Mutex
		cached *uploadMeta
		readAt time.Time
	)
	return func(m block.Meta) bool {
		if m.Compaction.Level > 1 {
			return false // never uploaded by a sidecar: nothing to wait for
		}
		mu.Lock()
		defer mu.Unlock()
		if cached == nil || time.Since(readAt) >= time.Minute {
			data, err := os.ReadFile(path)
			if err != nil {
				logger.Warn("cannot open TSDB upload meta file", "path", path, "err", err)
				return false
			}
			var um uploadMeta
			if err := json.Unmarshal(data, &um); err != nil {
				logger.Warn("cannot parse TSDB upload meta file", "path", path, "err", err)
				return false
			}
			cached, readAt = &um, time.Now()
		}
		return !slices.Contains(cached.Uploaded, m.ULID.String())
	}
}
