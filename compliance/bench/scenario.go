package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"mytsdb/compliance/loadgen"
)

// Metric identifies one row kind of the report.
type Metric int

const (
	Ingest        Metric = iota // samples/s in the timed phase
	CPUPerMillion               // server CPU seconds per million samples
	RSSPerSeries                // VmHWM bytes / active series
	WALPerSample                // WAL bytes / samples written
	RestartTime                 // seconds from restart to ready + data visible
	LoadgenCPU                  // driver CPU µs per sample (context, not a server figure)
	// RSSGrowth is (VmHWM − VmRSS of the idle server just after it was
	// ready) / active series: what the series cost without the process's
	// fixed part (binary pages, runtime), which weighs differently on the
	// two servers and depends on the page cache. Context for RSSPerSeries.
	RSSGrowth

	// Formats of the block scenarios' rows (blocks.go).
	Ratio          // a dimensionless ratio, 2 decimals
	BytesPerSample // 2 decimals
	Millis         // a latency in ms
	Count          // an integer count
)

// outcome is what one scenario run produced for one server: a value or an
// error per metric.
type outcome struct {
	values     map[Metric]float64
	errs       map[Metric]error
	partial    bool   // the timed phase hit MaxIngest
	unverified string // why the stored data could not be checked by a query, if it could not
}

func newOutcome() *outcome {
	return &outcome{values: map[Metric]float64{}, errs: map[Metric]error{}}
}

// failAll records err for every metric the scenario reports that has no value yet.
func (o *outcome) failAll(sc Scenario, err error) {
	for _, m := range scenarioMetrics(sc) {
		if _, ok := o.values[m]; !ok {
			if _, ok := o.errs[m]; !ok {
				o.errs[m] = err
			}
		}
	}
}

func scenarioMetrics(sc Scenario) []Metric {
	ms := []Metric{Ingest, CPUPerMillion, RSSPerSeries, RSSGrowth, WALPerSample, LoadgenCPU}
	if sc.Restart {
		ms = append(ms, RestartTime)
	}
	return ms
}

// runScenario runs sc against a fresh server started from binary. Errors are
// recorded in the outcome, per metric; it never panics on a misbehaving server.
func runScenario(ctx context.Context, cfg *Config, name, binary, configFile string, extra []string, sc Scenario, l *loadgen.Load) *outcome {
	o := newOutcome()
	dir, err := os.MkdirTemp(cfg.WorkDir, "mytsdb-bench-"+name+"-")
	if err != nil {
		o.failAll(sc, fmt.Errorf("temp dir: %w", err))
		return o
	}
	defer os.RemoveAll(dir)
	dataDir, logPath := filepath.Join(dir, "data"), filepath.Join(dir, "server.log")

	p, err := startProc(name, binary, configFile, dataDir, logPath, extra)
	if err != nil {
		o.failAll(sc, err)
		return o
	}
	defer func() { p.stop() }() // p is replaced by the restarted process, if any
	if err := p.waitReady(ctx, cfg.ReadyTimeout); err != nil {
		o.failAll(sc, fmt.Errorf("start: %w", err))
		return o
	}
	idleRSS, idleErr := statusField(p.pid(), "VmRSS:")
	client := loadgen.NewClient(cfg.Senders)
	client.Timeout = cfg.RequestTimeout
	url := p.url + "/api/v1/write"

	// Round 0 creates every series; it is not timed, but capped like the timed phase.
	cctx, ccancel := context.WithTimeout(ctx, cfg.MaxIngest)
	st0, err := l.Run(cctx, client, url, 0, 1)
	ccancel()
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		o.failAll(sc, fmt.Errorf("round 0 (series creation): only %d of %d series written within %s", st0.Samples, sc.Series, cfg.MaxIngest))
		return o
	case err != nil:
		o.failAll(sc, fmt.Errorf("round 0 (series creation): %w; server log tail: %s", err, p.logTail()))
		return o
	}
	cpu0, err := cpuTime(p.pid())
	if err != nil {
		o.failAll(sc, err)
		return o
	}
	self0 := selfCPU()
	tctx, cancel := context.WithTimeout(ctx, cfg.MaxIngest)
	st, err := l.Run(tctx, client, url, 1, 1+sc.Rounds)
	cancel()
	self1 := selfCPU()
	cpu1, cerr := cpuTime(p.pid())
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil && st.Samples > 0:
		o.partial = true
	default:
		o.failAll(sc, fmt.Errorf("ingest: %w; server log tail: %s", err, p.logTail()))
		return o
	}
	o.values[Ingest] = st.SamplesPerSecond()
	o.values[LoadgenCPU] = float64((self1 - self0).Microseconds()) / float64(st.Samples)
	if cerr != nil {
		o.errs[CPUPerMillion] = cerr
	} else {
		o.values[CPUPerMillion] = (cpu1 - cpu0).Seconds() / float64(st.Samples) * 1e6
	}
	if rss, err := peakRSS(p.pid()); err != nil {
		o.errs[RSSPerSeries] = err
	} else {
		o.values[RSSPerSeries] = float64(rss) / float64(sc.Series)
		if idleErr != nil {
			o.errs[RSSGrowth] = idleErr
		} else {
			o.values[RSSGrowth] = float64(rss-idleRSS) / float64(sc.Series)
		}
	}
	written := st0.Samples + st.Samples
	if wb, err := walBytes(dataDir); err != nil {
		o.errs[WALPerSample] = err
	} else {
		o.values[WALPerSample] = float64(wb) / float64(written)
	}
	// The figures count only if the server kept what it acknowledged.
	qctx, qcancel := context.WithTimeout(ctx, cfg.RequestTimeout)
	err = countSeries(qctx, p.url, l)
	qcancel()
	switch {
	case errors.Is(err, errNoData): // it acknowledged samples it does not return: no figure counts
		o.values, o.errs = map[Metric]float64{}, map[Metric]error{}
		o.failAll(sc, fmt.Errorf("after ingest: %w", err))
		return o
	case err != nil: // the query path itself failed: keep the figures, flag them
		o.unverified = "unverified, query failed: " + err.Error()
	}
	if sc.Restart {
		if o.partial {
			o.errs[RestartTime] = fmt.Errorf("ingest hit the %s cap after %d samples: no restart figure", cfg.MaxIngest, written)
		} else {
			np, d, err := restart(ctx, cfg, p, l, sc)
			if np != nil {
				p = np
			}
			if err != nil {
				o.errs[RestartTime] = err
			} else {
				o.values[RestartTime] = d.Seconds()
			}
		}
	}
	return o
}

// restart kills p, starts the same binary on the same data directory, and
// returns the time until /-/ready answers 200 and a query sees the last sample
// of the last series. It returns the restarted process (nil if none started),
// which the caller must stop.
func restart(ctx context.Context, cfg *Config, old *proc, l *loadgen.Load, sc Scenario) (*proc, time.Duration, error) {
	return restartAt(ctx, cfg, old, l, sc.Series-1, sc.Rounds)
}

// restartAt is restart waiting for round r of series i.
func restartAt(ctx context.Context, cfg *Config, old *proc, l *loadgen.Load, i, r int) (*proc, time.Duration, error) {
	old.kill()
	start := time.Now()
	p, err := startProc(old.name, old.binary, old.configFile, old.dataDir, old.logPath, old.extra)
	if err != nil {
		return nil, 0, err
	}
	timeout := cfg.RestartTimeout
	if err := p.waitReady(ctx, timeout); err != nil {
		return p, 0, fmt.Errorf("restart: %w", err)
	}
	if err := waitSees(ctx, cfg, p, l, i, r); err != nil {
		return p, 0, err
	}
	d := time.Since(start)
	qctx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
	defer cancel()
	if err := countSeries(qctx, p.url, l); err != nil {
		return p, 0, fmt.Errorf("after restart: %w", err)
	}
	return p, d, nil
}

// waitSees polls until p returns round r of series i, for up to
// cfg.RestartTimeout.
func waitSees(ctx context.Context, cfg *Config, p *proc, l *loadgen.Load, i, r int) error {
	deadline := time.Now().Add(cfg.RestartTimeout)
	for {
		qctx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
		err := seesSample(qctx, p.url, l, i, r)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("restart: ready but %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
