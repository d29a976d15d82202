package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mytsdb/compliance/loadgen"
	"mytsdb/compliance/server"
)

// ConvertKind's shape beyond BlockScenario's history fields: the live load
// that runs while mytsdb converts the history.
const (
	// convertLiveIntervalMs is the live load's interval: 1 s of synthetic
	// time per round, so that an hour of it (the most that stays in one head
	// block on both servers) is enough rounds to outlast the conversion.
	convertLiveIntervalMs = 1000
	// convertLiveSpan bounds the live load's synthetic time.
	convertLiveSpan = time.Hour
	// convertAfter is how long the live load goes on once mytsdb has
	// converted everything: the rate it is compared with. Prometheus, which
	// converts nothing, gets a window of twice that, split in halves.
	convertAfter = 15 * time.Second
	// historyPartsMetric is mytsdb's gauge of the Prometheus parts left
	// to convert (storage/convert.go).
	historyPartsMetric = "mytsdb_prometheus_history_parts"
)

// convertSeed is the data directory the real Prometheus wrote for a
// ConvertKind scenario: every run starts from a copy of it.
type convertSeed struct {
	dir        string
	samples    int64   // history samples it holds
	ingestRate float64 // samples/s at which Prometheus took them in
	err        error
}

// prepareConvert has the real Prometheus write b's history (the block load l)
// into short blocks plus a WAL, and stops it cleanly: the data directory a
// user swaps mytsdb onto.
func prepareConvert(ctx context.Context, cfg *Config, prometheus, configFile, work string, b BlockScenario, l *loadgen.Load, logf func(string, ...any)) convertSeed {
	dir, err := os.MkdirTemp(work, "convert-seed-")
	if err != nil {
		return convertSeed{err: fmt.Errorf("seed dir: %w", err)}
	}
	seed := convertSeed{dir: filepath.Join(dir, "data")}
	p, err := startProc("prometheus", prometheus, configFile, seed.dir, filepath.Join(dir, "server.log"), b.flags())
	if err != nil {
		seed.err = err
		return seed
	}
	defer p.stop()
	if err := p.waitReady(ctx, cfg.ReadyTimeout); err != nil {
		seed.err = fmt.Errorf("seed: start: %w", err)
		return seed
	}
	r := &blockRunner{ctx: ctx, cfg: cfg, b: b, l: l, p: p, dataDir: seed.dir, o: newBlockOutcome(), logf: logf}
	s := startSampler(p.pid(), seed.dir, new(atomic.Int64), 100*time.Millisecond)
	t0 := time.Now()
	st, err := r.ingest(0, b.rounds(), nil)
	took := time.Since(t0)
	waitIdle(ctx, s, 3*time.Second, 2*time.Minute)
	s.stop()
	if err != nil {
		seed.err = fmt.Errorf("seed: %w", err)
		return seed
	}
	if err := r.verify(); err != nil {
		seed.err = fmt.Errorf("seed: %w", err)
		return seed
	}
	p.stop()
	if p.err != nil && !strings.Contains(p.err.Error(), "signal") {
		seed.err = fmt.Errorf("seed: prometheus stopped with %v; log tail: %s", p.err, p.logTail())
		return seed
	}
	blocks, _, _ := newBlockScanner(seed.dir).scan()
	seed.samples, seed.ingestRate = st.Samples, st.SamplesPerSecond()
	logf("  seed: prometheus wrote %d samples in %s; %s and a WAL", st.Samples, took.Round(time.Millisecond), layout(blocks))
	return seed
}

// convert is ConvertKind: the server starts on a copy of the seed and a live
// load (new samples of l's series) runs while mytsdb converts the history;
// the ingest rate while it converts is compared with the rate after.
func (r *blockRunner) convert(seed convertSeed, mytsdb bool) {
	b, o := r.b, r.o
	id := b.id()
	if seed.err != nil {
		o.fail(b, seed.err)
		return
	}
	if !mytsdb {
		// Prometheus's cell of the speed row: how fast it took the same
		// history in, the figure a conversion speed is read against.
		o.values[id+"/speed"] = seed.ingestRate
	}
	live, err := loadgen.New(loadgen.Config{Series: b.LiveSeries, Senders: r.cfg.Senders, BatchSize: r.cfg.BatchSize,
		Protocol: b.Protocol, StartMs: r.l.Timestamp(b.rounds()-1) + convertLiveIntervalMs, IntervalMs: convertLiveIntervalMs})
	if err != nil {
		o.fail(b, err)
		return
	}
	rounds := int(convertLiveSpan.Milliseconds() / convertLiveIntervalMs)

	var progress atomic.Int64
	ctx, stopLoad := context.WithCancel(r.ctx)
	defer stopLoad()
	start := time.Now()
	var (
		wg      sync.WaitGroup
		st      loadgen.Stats
		loadErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := loadgen.NewClient(r.cfg.Senders)
		client.Timeout = r.cfg.RequestTimeout
		st, loadErr = live.RunProgress(ctx, client, r.p.url+"/api/v1/write", 0, rounds, &progress)
	}()
	ticks, doneAt := r.watchConversion(ctx, mytsdb, &progress, start)
	stopLoad()
	wg.Wait()
	if loadErr != nil && !errors.Is(loadErr, context.Canceled) {
		o.fail(b, fmt.Errorf("live load: %w; server log tail: %s", loadErr, r.p.logTail()))
		return
	}
	if st.Samples == 0 {
		o.fail(b, errors.New("live load: nothing acknowledged"))
		return
	}
	split := doneAt
	if !mytsdb {
		split = start.Add(convertAfter)
	}
	during, after := rateAround(ticks, split)
	if during > 0 {
		o.values[id+"/ingest"] = during
	}
	if during > 0 && after > 0 {
		o.values[id+"/ratio"] = during / after
	}
	if mytsdb {
		if doneAt.IsZero() {
			o.notef("the conversion had not finished when the live load ended (%d samples in %s)", st.Samples, time.Since(start).Round(time.Second))
		} else {
			took := doneAt.Sub(start)
			o.values[id+"/speed"] = float64(seed.samples) / took.Seconds()
			o.notef("%d history samples converted in %s while the live load wrote %d samples of %d series", seed.samples, took.Round(100*time.Millisecond), st.Samples, b.LiveSeries)
		}
	} else {
		o.notef("no conversion; the live load wrote %d samples of %d series in %s", st.Samples, b.LiveSeries, time.Since(start).Round(time.Second))
	}
	// The history must still answer, wherever it now lives.
	vctx, cancel := context.WithTimeout(r.ctx, r.cfg.RequestTimeout)
	defer cancel()
	if err := seesSample(vctx, r.p.url, r.l, b.Series-1, b.rounds()-1); err != nil {
		o.values = map[string]float64{}
		o.fail(b, fmt.Errorf("history after the conversion: %w", err))
		return
	}
	if err := seesSample(vctx, r.p.url, r.l, 0, 0); err != nil {
		o.values = map[string]float64{}
		o.fail(b, fmt.Errorf("history after the conversion: %w", err))
	}
}

// convertTick is one sample of the live load's progress.
type convertTick struct {
	at      time.Time
	samples int64
}

// watchConversion samples progress until the run is over: for mytsdb,
// convertAfter past the moment its parts gauge read 0 (returned as doneAt);
// for Prometheus, twice convertAfter. The load's cap ends both.
func (r *blockRunner) watchConversion(ctx context.Context, mytsdb bool, progress *atomic.Int64, start time.Time) (ticks []convertTick, doneAt time.Time) {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := start.Add(r.cfg.BlockMaxIngest)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		now := time.Now()
		ticks = append(ticks, convertTick{at: now, samples: progress.Load()})
		switch {
		case now.After(deadline), ctx.Err() != nil:
			return ticks, doneAt
		case !mytsdb && now.Sub(start) >= 2*convertAfter:
			return ticks, doneAt
		case mytsdb && !doneAt.IsZero() && now.Sub(doneAt) >= convertAfter:
			return ticks, doneAt
		case mytsdb && doneAt.IsZero():
			if left, err := server.Metric(ctx, client, r.p.url, historyPartsMetric); err == nil && left == 0 {
				doneAt = now
			}
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// rateAround is the ingest rate of the ticks before split and after it (0
// where there are fewer than two ticks).
func rateAround(ticks []convertTick, split time.Time) (before, after float64) {
	rate := func(ts []convertTick) float64 {
		if len(ts) < 2 {
			return 0
		}
		a, z := ts[0], ts[len(ts)-1]
		if d := z.at.Sub(a.at).Seconds(); d > 0 {
			return float64(z.samples-a.samples) / d
		}
		return 0
	}
	if split.IsZero() {
		return rate(ticks), 0
	}
	i := 0
	for i < len(ticks) && ticks[i].at.Before(split) {
		i++
	}
	if i == len(ticks) {
		return rate(ticks), 0
	}
	// The first tick at or past the split belongs to both halves: no
	// interval is lost.
	return rate(ticks[:i+1]), rate(ticks[i:])
}

// copyDir copies the regular files and directories of src into dst.
func copyDir(dst, src string) error {
	return os.CopyFS(dst, os.DirFS(src))
}
