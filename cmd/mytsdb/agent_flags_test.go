package main

import (
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/prometheus/tsdb/agent"
	"github.com/prometheus/prometheus/util/compression"
)

// parseAgentFlags parses args with mytsdb's flag definitions.
func parseAgentFlags(t *testing.T, args ...string) (*flagConfig, *flagSet) {
	t.Helper()
	cfg := &flagConfig{}
	a := kingpin.New("mytsdb", "")
	fs := defineFlags(a, cfg)
	if _, err := a.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return cfg, fs
}

// TestAgentOptionsFromFlags: every --storage.agent.* flag reaches the agent
// DB's options; with none set, the options are the agent package's own
// defaults (where Prometheus's flag defaults come from) with Prometheus's
// snappy compression and a 0 truncate frequency (the DB's default applies).
func TestAgentOptionsFromFlags(t *testing.T) {
	cfg, fs := parseAgentFlags(t, "--agent")
	def := agent.DefaultOptions()
	got := agentOptions(cfg, -5)
	if got.MinWALTime != def.MinWALTime || got.MaxWALTime != def.MaxWALTime || got.StripeSize != def.StripeSize ||
		got.WALCompression != compression.Snappy || got.TruncateFrequency != 0 || got.WALSegmentSize != 0 ||
		got.NoLockfile || got.OutOfOrderTimeWindow != 0 || got.CheckpointFromInMemorySeries || got.CheckpointBatchSize != 1000 {
		t.Fatalf("defaults: %+v, agent defaults %+v", got, def)
	}
	for name := range fs.notHonoured {
		if name == "agent" || fs.agentOnlyName[name] {
			t.Errorf("--%s is still on the accepted-but-not-honoured list", name)
		}
	}
	if len(fs.agentOnlyName) != 10 {
		t.Errorf("%d agent-only flags, Prometheus 3.16 has 10", len(fs.agentOnlyName))
	}

	cfg, _ = parseAgentFlags(t, "--agent", "--storage.agent.wal-segment-size=20MB",
		"--storage.agent.wal-compression-type=zstd", "--storage.agent.wal-truncate-frequency=10m",
		"--storage.agent.retention.min-time=1m", "--storage.agent.retention.max-time=3h",
		"--storage.agent.no-lockfile", "--storage.agent.checkpoint-from-in-memory-series",
		"--storage.agent.checkpoint-batch-size=7")
	got = agentOptions(cfg, 60000)
	want := agent.Options{
		WALSegmentSize: 20 << 20, WALCompression: compression.Zstd, StripeSize: def.StripeSize,
		TruncateFrequency: 10 * time.Minute, MinWALTime: 60000, MaxWALTime: 3 * 3600 * 1000,
		NoLockfile: true, OutOfOrderTimeWindow: 60000, CheckpointFromInMemorySeries: true, CheckpointBatchSize: 7,
	}
	if *got != want {
		t.Fatalf("got %+v\nwant %+v", *got, want)
	}
	// Compression off ignores the type, as Prometheus's parseCompressionType.
	cfg, _ = parseAgentFlags(t, "--agent", "--no-storage.agent.wal-compression", "--storage.agent.wal-compression-type=zstd")
	if c := agentOptions(cfg, 0).WALCompression; c != compression.None {
		t.Fatalf("compression off: %q", c)
	}
	if err := checkAgentSegmentSize(&flagConfig{agentWALSegmentSize: 5 << 20}); err == nil {
		t.Fatal("a 5MB segment size was accepted")
	}
	if err := checkAgentFlags(&flagConfig{agentCheckpointBatch: 0}); err == nil {
		t.Fatal("a 0 checkpoint batch size was accepted")
	}
}
