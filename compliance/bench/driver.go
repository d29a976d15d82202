package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mytsdb/compliance/loadgen"
)

// Run executes cfg: for each A B repeat and each scenario, Prometheus then
// mytsdb, each on a fresh server. Failures of a server are recorded in its
// cells; Run itself fails only on a bad config, an unusable work directory or
// a cancelled ctx.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(logw, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
	}
	work, err := os.MkdirTemp(cfg.WorkDir, "mytsdb-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: work dir: %w", err)
	}
	defer os.RemoveAll(work)
	configFile, err := writeConfig(work)
	if err != nil {
		return nil, err
	}

	rep := &Report{Config: cfg, Machine: machineInfo(), Rows: buildRows(cfg)}
	if cfg.Commit != "" {
		rep.Machine.Commit = cfg.Commit
	}
	logf("resolving binaries (mytsdb may need a go build)")
	bins := resolveBinaries(&cfg, work)
	rep.Machine.Prometheus = describeBinary(bins.prometheus, bins.promErr)
	rep.Machine.Mytsdb = describeBinary(bins.mytsdb, bins.mytsdbErr)
	if len(cfg.MytsdbArgs) > 0 {
		rep.Machine.Mytsdb += " with " + strings.Join(cfg.MytsdbArgs, " ")
	}
	if bins.mytsdbErr != nil {
		logf("mytsdb unavailable: %v", bins.mytsdbErr)
	}

	// Every run writes the same timestamps: 90 minutes ago onwards, so that the
	// whole load stays in the past and within one head block.
	startMs := (time.Now().Add(-90*time.Minute).UnixMilli() / cfg.IntervalMs) * cfg.IntervalMs
	loads := make([]*loadgen.Load, len(cfg.Scenarios))
	for repeat := range cfg.Repeats {
		for i, sc := range cfg.Scenarios {
			if loads[i] == nil {
				l, err := loadgen.New(loadgen.Config{Series: sc.Series, Senders: cfg.Senders, BatchSize: cfg.BatchSize,
					Protocol: sc.Protocol, StartMs: startMs, IntervalMs: cfg.IntervalMs})
				if err != nil {
					return nil, err
				}
				logf("encoded %s: %d bytes per round, %s", sc.Name(), l.CompressedBytesPerRound(), l.SetupTime().Round(time.Millisecond))
				loads[i] = l
			}
			for _, side := range []struct {
				name   string
				mytsdb bool
				bin    string
				err    error
				extra  []string
			}{{"prometheus", false, bins.prometheus, bins.promErr, nil}, {"mytsdb", true, bins.mytsdb, bins.mytsdbErr, cfg.MytsdbArgs}} {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				var o *outcome
				if side.err != nil {
					o = newOutcome()
					o.failAll(sc, side.err)
				} else {
					logf("repeat %d/%d: %s on %s", repeat+1, cfg.Repeats, sc.Name(), side.name)
					o = runScenario(ctx, &cfg, side.name, side.bin, configFile, side.extra, sc, loads[i])
				}
				rep.add(sc, side.mytsdb, o)
				logf("  %s", summarize(o))
			}
		}
		// The larger loads are kept for the next repeat; drop them after the last.
	}
	loads = nil
	if err := runBlocks(ctx, &cfg, rep, bins, configFile, logf); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		rep.LoadEnd = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return rep, nil
}

func describeBinary(path string, err error) string {
	if err != nil {
		return "unavailable (" + oneLine(err.Error(), 200) + ")"
	}
	return binaryVersion(path) + " (" + path + ")"
}

// summarize is the progress line of one run: its figures, then each distinct
// error in full (the table shows them truncated).
func summarize(o *outcome) string {
	var parts, errs []string
	seen := map[string]bool{}
	for _, m := range []Metric{Ingest, CPUPerMillion, RSSPerSeries, RSSGrowth, WALPerSample, RestartTime, LoadgenCPU} {
		if v, ok := o.values[m]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s", shortName(m), formatValue(m, v)))
		} else if err, ok := o.errs[m]; ok {
			parts = append(parts, shortName(m)+"=error")
			if msg := err.Error(); !seen[msg] {
				seen[msg] = true
				errs = append(errs, "    error: "+msg)
			}
		}
	}
	if o.partial {
		parts = append(parts, "partial")
	}
	if o.unverified != "" {
		parts = append(parts, "("+o.unverified+")")
	}
	return strings.Join(append([]string{strings.Join(parts, " ")}, errs...), "\n")
}

func shortName(m Metric) string {
	names := [...]string{"ingest/s", "cpu-s/M", "rss-B/series", "wal-B/sample", "restart-s", "loadgen-µs/sample", "rss-growth-B/series"}
	if int(m) < len(names) {
		return names[m]
	}
	return fmt.Sprintf("metric%d", int(m))
}

// AppendMarkdown appends the report to path (e.g. BENCHMARKS.md), creating it
// with a title if needed.
func AppendMarkdown(path string, r *Report) error {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("bench: open %s: %w", path, err)
	}
	if os.IsNotExist(statErr) {
		fmt.Fprintln(f, "# Benchmarks: mytsdb beside the real Prometheus\n\nAppended by `make bench` (go run ./compliance/cmd/bench); newest last.")
		fmt.Fprintln(f)
	}
	r.WriteMarkdown(f)
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	return nil
}

// runBlocks runs the block scenarios, BlockRepeats times, Prometheus then
// mytsdb, and notes where their query answers differ.
func runBlocks(ctx context.Context, cfg *Config, rep *Report, bins binaries, configFile string, logf func(string, ...any)) error {
	now := time.Now()
	for _, b := range cfg.Blocks {
		l, err := loadgen.New(loadgen.Config{Series: b.Series, Senders: cfg.Senders, BatchSize: cfg.BatchSize,
			Protocol: b.Protocol, StartMs: b.startMs(now), IntervalMs: b.IntervalMs, Mix: b.mix(), Lockstep: true})
		if err != nil {
			return err
		}
		logf("encoded %s (%s series, %d rounds of %s from %s): %d bytes per round", b.Kind, human(float64(b.Series)), b.rounds(),
			time.Duration(b.IntervalMs)*time.Millisecond, time.UnixMilli(l.Timestamp(0)).UTC().Format(time.RFC3339), l.CompressedBytesPerRound())
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s: %s", b.Kind, b.describe()))
		var seed convertSeed
		if b.Kind == ConvertKind {
			seed = seedConvert(ctx, cfg, bins, configFile, b, l, logf)
			if seed.dir != "" {
				defer os.RemoveAll(filepath.Dir(seed.dir))
			}
		}
		for repeat := range cfg.BlockRepeats {
			var prints [2]map[string]fingerprint
			for k, side := range []struct {
				name   string
				mytsdb bool
				bin    string
				err    error
				extra  []string
			}{{"prometheus", false, bins.prometheus, bins.promErr, nil}, {"mytsdb", true, bins.mytsdb, bins.mytsdbErr, cfg.MytsdbArgs}} {
				if err := ctx.Err(); err != nil {
					return err
				}
				if b.Kind == ParquetKind && !side.mytsdb {
					continue // Prometheus has no Parquet tier: its cells stay empty
				}
				var o *blockOutcome
				if side.err != nil {
					o = newBlockOutcome()
					o.fail(b, side.err)
				} else {
					logf("block repeat %d/%d: %s on %s", repeat+1, cfg.BlockRepeats, b.Kind, side.name)
					o = runBlock(ctx, cfg, side.name, side.bin, configFile, side.extra, b, l, seed, logf)
				}
				prints[k] = o.prints
				rep.addBlock(b, side.mytsdb, o)
				logf("  %s", summarizeBlock(b, o))
			}
			for _, n := range comparePrints(b, prints[0], prints[1]) {
				rep.Notes = append(rep.Notes, fmt.Sprintf("%s: %s", b.Kind, n))
			}
		}
	}
	return nil
}

// seedConvert writes a ConvertKind scenario's seed with the reference
// Prometheus, or says why it cannot.
func seedConvert(ctx context.Context, cfg *Config, bins binaries, configFile string, b BlockScenario, l *loadgen.Load, logf func(string, ...any)) convertSeed {
	if bins.promErr != nil {
		return convertSeed{err: fmt.Errorf("the seed needs the reference Prometheus: %w", bins.promErr)}
	}
	logf("convert: the reference Prometheus writes the history to convert")
	return prepareConvert(ctx, cfg, bins.prometheus, configFile, cfg.WorkDir, b, l, logf)
}

// comparePrints lists the queries whose answers differ between the servers.
func comparePrints(b BlockScenario, prom, ours map[string]fingerprint) []string {
	var out []string
	same := 0
	for _, q := range dashboardQueries {
		for _, rg := range historyRanges {
			key := fmt.Sprintf("%s/%s/%s", b.id(), q.name, rg.name)
			p, ok1 := prom[key]
			m, ok2 := ours[key]
			switch {
			case !ok1 || !ok2:
			case p.same(m):
				same++
			default:
				out = append(out, fmt.Sprintf("RESULTS DIFFER for %s over %s: prometheus %s; mytsdb %s", q.expr, rg.name, p, m))
			}
		}
	}
	if same > 0 {
		out = append(out, fmt.Sprintf("%d query answers compared: %d identical (series, points, sum of values within 1e-6)", same+len(out), same))
	}
	return out
}

// summarizeBlock is the progress line of one block scenario run.
func summarizeBlock(b BlockScenario, o *blockOutcome) string {
	var parts, errs []string
	seen := map[string]bool{}
	for _, r := range b.rows() {
		if v, ok := o.values[r.key]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s", strings.TrimPrefix(r.key, b.id()+"/"), formatValue(r.metric, v)))
		} else if err, ok := o.errs[r.key]; ok {
			if msg := err.Error(); !seen[msg] {
				seen[msg] = true
				errs = append(errs, "    error: "+strings.TrimPrefix(r.key, b.id()+"/")+": "+msg)
			}
		}
	}
	for _, n := range o.notes {
		errs = append(errs, "    note: "+n)
	}
	return strings.Join(append([]string{strings.Join(parts, " ")}, errs...), "\n")
}
