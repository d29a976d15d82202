package bench

import (
	"fmt"
	"io"
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
	Repeats   int // A B rounds: each scenario runs Repeats times per server, alternating
	Senders   int
	BatchSize int
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
	WorkDir    string    // parent of the temporary directories ("" = os.TempDir)
	Log        io.Writer // progress lines; nil = discard
}

// Full is `make bench`: 200k and 1M active series with both protocols, two A B
// rounds, and a restart after 10M samples.
func Full() Config {
	return Config{
		Mode: "full",
		Scenarios: []Scenario{
			{Series: 200_000, Protocol: loadgen.V1, Rounds: 49, Restart: true}, // 10M samples
			{Series: 200_000, Protocol: loadgen.V2, Rounds: 20},
			{Series: 1_000_000, Protocol: loadgen.V1, Rounds: 8},
			{Series: 1_000_000, Protocol: loadgen.V2, Rounds: 8},
		},
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
		Repeats: 1, Senders: 4, BatchSize: 2000, IntervalMs: 15_000,
		MaxIngest: 60 * time.Second, ReadyTimeout: time.Minute,
		RestartTimeout: 2 * time.Minute, RequestTimeout: 30 * time.Second,
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []string
	if len(c.Scenarios) == 0 {
		errs = append(errs, "no scenarios")
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
