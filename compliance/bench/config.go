package bench

import (
	"fmt"
	"io"
	"slices"
	"time"

	"mytsdb/compliance/loadgen"
)

// Scenario is one load run against a fresh server: round 0 creates the series
// (not timed), then Rounds rounds of one sample per series are timed.
type Scenario struct {
	Series   int
	Protocol loadgen.Protocol
	Rounds   int
	// Restart: after the load, SIGKILL the server, restart it on the same data
	// directory and time it until it is ready and a query sees the last sample.
	Restart bool
}

// Name is a short label such as "200k series, RW 1.0".
func (s Scenario) Name() string {
	return fmt.Sprintf("%s series, RW %s", human(float64(s.Series)), s.Protocol)
}

// TotalSamples is what the scenario writes, round 0 included.
func (s Scenario) TotalSamples() int64 { return int64(s.Series) * int64(s.Rounds+1) }

// Config is one driver run.
type Config struct {
	Mode      string // "full", "quick" or a test's name; shown in the report
	Scenarios []Scenario
	// Blocks are the block scenarios (blocks.go), run after Scenarios,
	// BlockRepeats times each per server, alternating.
	Blocks       []BlockScenario
	BlockRepeats int
	// BlockMaxIngest caps the load of one block scenario.
	BlockMaxIngest time.Duration
	Repeats        int // A B rounds: each scenario runs Repeats times per server, alternating
	Senders        int
	BatchSize      int
	// IntervalMs is the time between rounds (a scrape interval).
	IntervalMs int64
	// MaxIngest caps a scenario's timed phase; the rate is then computed from
	// what was delivered and the row is marked partial.
	MaxIngest    time.Duration
	ReadyTimeout time.Duration // first start
	// RestartTimeout bounds the restart measurement (ready and data visible).
	RestartTimeout time.Duration
	// RequestTimeout bounds one remote-write request or query: beyond it the
	// server is taken as stuck and the scenario fails for it.
	RequestTimeout time.Duration
	// PrometheusBinary and MytsdbBinary override the lookups of compliance/server
	// ($PROMETHEUS_BINARY or .cache/ref, $MYTSDB_BINARY or go build ./cmd/mytsdb).
	PrometheusBinary, MytsdbBinary string
	// MytsdbArgs are extra flags for mytsdb only (e.g. --storage.wal.sync=interval);
	// by default both servers run with their own defaults.
	MytsdbArgs []string
	WorkDir    string // parent of the temporary directories ("" = os.TempDir)
	// Commit, if set, is the commit the report names instead of the work
	// tree's (for a mytsdb binary built from a clean checkout of it).
	Commit string
	Log    io.Writer // progress lines; nil = discard
}

// Full is `make bench`: 200k and 1M active series with both protocols, two A B
// rounds, and a restart after 10M samples; then the block scenarios once.
func Full() Config {
	return Config{
		Mode: "full",
		Scenarios: []Scenario{
			{Series: 200_000, Protocol: loadgen.V1, Rounds: 49, Restart: true}, // 10M samples
			{Series: 200_000, Protocol: loadgen.V2, Rounds: 20},
			{Series: 1_000_000, Protocol: loadgen.V1, Rounds: 8},
			{Series: 1_000_000, Protocol: loadgen.V2, Rounds: 8},
		},
		Blocks: []BlockScenario{
			// 7 head cuts of 5-minute blocks at 15 s per sample: 33M samples
			// (the head holds 10 to 30 samples per series).
			{Kind: CutsKind, Series: 200_000, Protocol: loadgen.V1, IntervalMs: 15_000, BlockRange: 5 * time.Minute, Cuts: 7},
			// FACTS.md's snapshot figure: 20k series × 240 samples 60 s apart, default 2h blocks.
			{Kind: DiskKind, Series: 20_000, Protocol: loadgen.V1, IntervalMs: 60_000, Span: 4 * time.Hour},
			// 24 hosts (9,000 series, 96 of them classic histograms) × 24.5h at 30 s:
			// 26.5M samples into 1h blocks compacted up to 3h.
			{Kind: HistoryKind, Series: 24 * loadgen.MixDashboard.SeriesPerHost(), Protocol: loadgen.V1, IntervalMs: 30_000,
				BlockRange: time.Hour, MaxBlock: 3 * time.Hour, Span: 24*time.Hour + 30*time.Minute, QueryIters: 15, Restart: true},
			// The swap: 8 hosts (3,000 series) × 24h at 30 s (8.6M samples) in
			// Prometheus's 1h blocks, converted under a live load of 20k series.
			{Kind: ConvertKind, Series: 8 * loadgen.MixDashboard.SeriesPerHost(), Protocol: loadgen.V1, IntervalMs: 30_000,
				BlockRange: time.Hour, MaxBlock: time.Hour, Span: 24 * time.Hour, LiveSeries: 20_000},
			// The Parquet tier's targets: 10 hosts × 36.5h at 30 s (14M
			// samples): one 24h block cut, the rest in the head.
			{Kind: ParquetKind, Series: parquetHosts * loadgen.MixNode.SeriesPerHost(), Protocol: loadgen.V1, IntervalMs: 30_000,
				BlockRange: 24 * time.Hour, MaxBlock: 24 * time.Hour, Span: 36*time.Hour + 30*time.Minute, QueryIters: 15},
		},
		BlockRepeats: 1, BlockMaxIngest: 20 * time.Minute,
		Repeats: 2, Senders: 4, BatchSize: 2000, IntervalMs: 15_000,
		MaxIngest: 100 * time.Second, ReadyTimeout: 2 * time.Minute,
		RestartTimeout: 5 * time.Minute, RequestTimeout: 30 * time.Second,
	}
}

// Quick is a smoke test of a minute or two: small sizes, one round.
func Quick() Config {
	return Config{
		Mode: "quick",
		Scenarios: []Scenario{
			{Series: 20_000, Protocol: loadgen.V1, Rounds: 25, Restart: true},
			{Series: 20_000, Protocol: loadgen.V2, Rounds: 25},
		},
		Blocks: []BlockScenario{
			{Kind: CutsKind, Series: 20_000, Protocol: loadgen.V1, IntervalMs: 15_000, BlockRange: 10 * time.Minute, Cuts: 6},
			{Kind: DiskKind, Series: 2_000, Protocol: loadgen.V1, IntervalMs: 60_000, Span: 4 * time.Hour},
			{Kind: HistoryKind, Series: 2 * loadgen.MixDashboard.SeriesPerHost(), Protocol: loadgen.V1, IntervalMs: 60_000,
				BlockRange: time.Hour, MaxBlock: 3 * time.Hour, Span: 24*time.Hour + 30*time.Minute, QueryIters: 5, Restart: true},
			{Kind: ConvertKind, Series: 4 * loadgen.MixDashboard.SeriesPerHost(), Protocol: loadgen.V1, IntervalMs: 30_000,
				BlockRange: time.Hour, MaxBlock: time.Hour, Span: 12 * time.Hour, LiveSeries: 5_000},
			{Kind: ParquetKind, Series: parquetHosts * loadgen.MixNode.SeriesPerHost(), Protocol: loadgen.V1, IntervalMs: 120_000,
				BlockRange: 24 * time.Hour, MaxBlock: 24 * time.Hour, Span: 36*time.Hour + 30*time.Minute, QueryIters: 5},
		},
		BlockRepeats: 1, BlockMaxIngest: 3 * time.Minute,
		Repeats: 1, Senders: 4, BatchSize: 2000, IntervalMs: 15_000,
		MaxIngest: 60 * time.Second, ReadyTimeout: time.Minute,
		RestartTimeout: 2 * time.Minute, RequestTimeout: 30 * time.Second,
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []string
	if len(c.Scenarios) == 0 && len(c.Blocks) == 0 {
		errs = append(errs, "no scenarios")
	}
	for i, b := range c.Blocks {
		if err := b.validate(); err != nil {
			errs = append(errs, fmt.Sprintf("block scenario %d (%s): %v", i, b.Kind, err))
		}
	}
	if len(c.Blocks) > 0 && (c.BlockRepeats <= 0 || c.BlockMaxIngest <= 0) {
		errs = append(errs, "BlockRepeats and BlockMaxIngest must be > 0 with block scenarios")
	}
	for i, s := range c.Scenarios {
		if s.Series <= 0 || s.Rounds <= 0 {
			errs = append(errs, fmt.Sprintf("scenario %d: Series and Rounds must be > 0", i))
		}
	}
	if c.Repeats <= 0 || c.Senders <= 0 || c.BatchSize <= 0 || c.IntervalMs <= 0 {
		errs = append(errs, "Repeats, Senders, BatchSize and IntervalMs must be > 0")
	}
	if c.MaxIngest <= 0 || c.ReadyTimeout <= 0 || c.RestartTimeout <= 0 || c.RequestTimeout <= 0 {
		errs = append(errs, "MaxIngest, ReadyTimeout, RestartTimeout and RequestTimeout must be > 0")
	}
	if len(errs) > 0 {
		return fmt.Errorf("bench: invalid config: %v", errs)
	}
	return nil
}

// ScenarioGroups are the names Only accepts: "ingest" (Scenarios) and the
// block scenarios' kinds.
var ScenarioGroups = []string{"ingest", CutsKind.String(), DiskKind.String(), HistoryKind.String(), ConvertKind.String(), ParquetKind.String()}

// Only keeps the scenarios of the named groups (see ScenarioGroups).
func (c *Config) Only(groups []string) error {
	keep := map[string]bool{}
	for _, g := range groups {
		if !slices.Contains(ScenarioGroups, g) {
			return fmt.Errorf("bench: unknown scenario group %q (have %v)", g, ScenarioGroups)
		}
		keep[g] = true
	}
	if !keep["ingest"] {
		c.Scenarios = nil
	}
	c.Blocks = slices.DeleteFunc(c.Blocks, func(b BlockScenario) bool { return !keep[b.Kind.String()] })
	return nil
}
