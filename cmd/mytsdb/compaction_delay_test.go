package main

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"mytsdb/storage/block"
)

// TestUploadedOnly drives the --storage.tsdb.delay-compact-file.path
// exclusion through the states Prometheus's exludeBlocksPendingUpload
// distinguishes: listed and unlisted level-1 blocks, higher levels, a
// missing and an unparsable file, and the once-a-minute cache.
func TestUploadedOnly(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if uploadedOnly("", logger) != nil {
		t.Fatal("an empty path must not exclude anything")
	}
	up, pending := ulid.Make(), ulid.Make()
	meta := func(id ulid.ULID, level int) block.Meta {
		var m block.Meta
		m.ULID, m.Compaction.Level = id, level
		return m
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "thanos.shipper.json")

	missing := uploadedOnly(path, logger)
	if missing(meta(pending, 1)) {
		t.Error("a missing file excludes a block")
	}
	writeFile(t, path, "{not json")
	if uploadedOnly(path, logger)(meta(pending, 1)) {
		t.Error("an unparsable file excludes a block")
	}

	writeFile(t, path, `{"version":1,"uploaded":["`+up.String()+`"]}`)
	ex := uploadedOnly(path, logger)
	for _, c := range []struct {
		m    block.Meta
		want bool
	}{
		{meta(up, 1), false},
		{meta(pending, 1), true},
		{meta(pending, 2), false},
		{meta(pending, 3), false},
	} {
		if got := ex(c.m); got != c.want {
			t.Errorf("block %s level %d: excluded=%v, want %v", c.m.ULID, c.m.Compaction.Level, got, c.want)
		}
	}
	// Within a minute the file is not read again.
	writeFile(t, path, `{"version":1,"uploaded":["`+up.String()+`","`+pending.String()+`"]}`)
	if !ex(meta(pending, 1)) {
		t.Error("the upload file was read again within a minute")
	}
	if uploadedOnly(path, logger)(meta(pending, 1)) {
		t.Error("a fresh reader does not see the block as uploaded")
	}
}

// TestCompactionDelayDraw: the delay is off without the feature, within
// [0, max-percent of the chunk range) with it, and an out-of-range percent
// falls back to 10% as in Prometheus.
func TestCompactionDelayDraw(t *testing.T) {
	s := &server{logger: slog.New(slog.NewTextHandler(io.Discard, nil)), cfg: &flagConfig{}}
	s.cfg.delayedCompactionMaxPct = 50
	s.chunkRange = time.Minute.Milliseconds()
	if d := s.compactionDelay(); d != 0 {
		t.Fatalf("delay %v without the feature", d)
	}
	s.features.delayedCompaction = true
	for _, c := range []struct {
		pct   int
		limit time.Duration
	}{{50, 30 * time.Second}, {100, time.Minute}, {0, 6 * time.Second}, {101, 6 * time.Second}} {
		s.cfg.delayedCompactionMaxPct = c.pct
		var most time.Duration
		for range 200 {
			d := s.compactionDelay()
			if d < 0 || d >= c.limit {
				t.Fatalf("pct %d: delay %v outside [0, %v)", c.pct, d, c.limit)
			}
			most = max(most, d)
		}
		if most < c.limit/2 { // 200 draws: all below half has probability 2^-200
			t.Errorf("pct %d: the largest of 200 delays is %v, limit %v", c.pct, most, c.limit)
		}
	}
}

// TestDelayedCompactionFeatureAsPrometheus: with --enable-feature=delayed-compaction
// the tsdb section of /api/v1/features is what the real Prometheus declares.
func TestDelayedCompactionFeatureAsPrometheus(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, "global:\n  scrape_interval: 1h\n")
	var got []string
	for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		addr := freeAddr(t)
		p := start(t, bin, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
			"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"), "--enable-feature=delayed-compaction")
		p.waitReady(30 * time.Second)
		r := featuresOf(t, p)
		if !r["tsdb"]["delayed_compaction"] {
			t.Errorf("%s: tsdb.delayed_compaction is not true: %v", filepath.Base(bin), r["tsdb"])
		}
		got = append(got, fmt.Sprint(r["tsdb"]))
	}
	if got[0] != got[1] {
		t.Errorf("tsdb features:\nmytsdb     %s\nprometheus %s", got[0], got[1])
	}
}
