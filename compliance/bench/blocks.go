package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"mytsdb/compliance/loadgen"
)

// BlockKind is one of the block scenarios: what the storage does once the
// head is cut into blocks and the blocks are compacted.
type BlockKind int

const (
	// CutsKind remote-writes a steady load with synthetic timestamps racing
	// through Cuts short blocks and samples the server every 50 ms: peak RSS
	// per series, RSS growth from cut to cut, and the ingest rate while a
	// block is being written against the steady rate.
	CutsKind BlockKind = iota
	// DiskKind writes FACTS.md's storage mix (loadgen.MixStorage), takes an
	// admin snapshot with the head and measures its bytes per sample.
	DiskKind
	// HistoryKind writes Span of dashboard series (loadgen.MixDashboard,
	// with classic histograms) into short blocks, so that the data lies in
	// the head, level-1 blocks and compacted blocks; then times dashboard
	// range queries over 1h, 6h and 24h, and a restart (SIGKILL) to ready.
	HistoryKind
	// ConvertKind has the real Prometheus write Span of dashboard series
	// into short blocks and a WAL and stop: a user's data directory. Each
	// server then starts on a copy of it under a live load of LiveSeries
	// new series; mytsdb converts the history meanwhile. It reports the
	// conversion's speed and the ingest rate while it runs against the
	// rate after it.
	ConvertKind
	// ParquetKind (mytsdb only) writes Span of node series into 24h blocks
	// (parquet.go): the issue-12 targets of the Parquet tier, a 1h query
	// over 10 series of a 24h block, local and only in the bucket side by
	// side (GetRange calls and bytes of the cold query, warm latency), and
	// the bytes per sample of both copies.
	ParquetKind
)

func (k BlockKind) String() string {
	switch k {
	case CutsKind:
		return "cuts"
	case DiskKind:
		return "disk"
	case HistoryKind:
		return "history"
	case ConvertKind:
		return "convert"
	case ParquetKind:
		return "parquet"
	}
	return fmt.Sprintf("BlockKind(%d)", int(k))
}

// BlockScenario is one block scenario run against a fresh server.
type BlockScenario struct {
	Kind       BlockKind
	Series     int
	Protocol   loadgen.Protocol
	IntervalMs int64         // between two samples of a series (synthetic time)
	BlockRange time.Duration // --storage.tsdb.min-block-duration for both servers; 0 = their default (2h)
	MaxBlock   time.Duration // --storage.tsdb.max-block-duration; 0 = their default
	Cuts       int           // CutsKind: head cuts to go through
	Span       time.Duration // DiskKind, HistoryKind: time the data spans
	QueryIters int           // HistoryKind: timed runs of each query
	Restart    bool          // HistoryKind: SIGKILL and restart after the queries
	LiveSeries int           // ConvertKind: series of the live load during the conversion
}

func (b BlockScenario) validate() error {
	switch {
	case b.Series <= 0 || b.IntervalMs <= 0:
		return errors.New("Series and IntervalMs must be > 0")
	case b.Protocol != loadgen.V1 && b.Protocol != loadgen.V2:
		return errors.New("unknown protocol")
	case b.Kind == CutsKind && (b.Cuts <= 0 || b.BlockRange <= 0):
		return errors.New("Cuts and BlockRange must be > 0")
	case b.Kind == DiskKind && b.Span <= 0:
		return errors.New("Span must be > 0")
	case b.Kind == HistoryKind && (b.Span < 24*time.Hour || b.BlockRange <= 0 || b.QueryIters <= 0):
		return errors.New("Span must be ≥ 24h, BlockRange and QueryIters > 0")
	case b.Kind == ConvertKind && (b.Span <= 0 || b.BlockRange <= 0 || b.LiveSeries <= 0):
		return errors.New("Span, BlockRange and LiveSeries must be > 0")
	case b.Kind == ParquetKind && (b.BlockRange != 24*time.Hour || b.Span <= 3*b.BlockRange/2 || b.QueryIters <= 0 ||
		b.Series != parquetHosts*loadgen.MixNode.SeriesPerHost()):
		return errors.New("BlockRange must be 24h, Span more than 1.5 of it, QueryIters > 0, Series 10 hosts of MixNode")
	case b.Kind > ParquetKind || b.Kind < 0:
		return errors.New("unknown kind")
	}
	return nil
}

func (b BlockScenario) blockRange() time.Duration {
	if b.BlockRange > 0 {
		return b.BlockRange
	}
	return 2 * time.Hour
}

func (b BlockScenario) mix() loadgen.Mix {
	switch b.Kind {
	case DiskKind:
		return loadgen.MixStorage
	case HistoryKind, ConvertKind:
		return loadgen.MixDashboard
	}
	return loadgen.MixNode
}

// rounds is the number of rounds of the load, round 0 included.
func (b BlockScenario) rounds() int {
	iv := time.Duration(b.IntervalMs) * time.Millisecond
	if b.Kind == CutsKind {
		// Cut k happens once the head spans more than 1.5 ranges, i.e. when
		// the data reaches (k+0.5) ranges past the aligned start; a quarter
		// range more leaves room for the last.
		return int((time.Duration(b.Cuts)*b.BlockRange+b.BlockRange*3/4)/iv) + 2
	}
	return int(b.Span/iv) + 1
}

// startMs is round 0's timestamp, fixed once per run so that both servers
// get the same data: everything in the past, round 0 on a block boundary.
// HistoryKind ends 1.4 ranges past a block boundary: a full head, just short
// of the 1.5 ranges that cut it.
func (b BlockScenario) startMs(now time.Time) int64 {
	r := b.blockRange().Milliseconds()
	span := int64(b.rounds()-1) * b.IntervalMs
	if b.Kind == HistoryKind || b.Kind == ConvertKind {
		last := (now.Add(-2*time.Hour).UnixMilli()/r)*r + r*14/10
		last -= last % b.IntervalMs
		return last - span
	}
	return ((now.UnixMilli() - span - time.Hour.Milliseconds()) / r) * r
}

func (b BlockScenario) flags() []string {
	var f []string
	if b.BlockRange > 0 {
		f = append(f, "--storage.tsdb.min-block-duration="+promDuration(b.BlockRange))
	}
	if b.MaxBlock > 0 {
		f = append(f, "--storage.tsdb.max-block-duration="+promDuration(b.MaxBlock))
	}
	if b.Kind == DiskKind {
		f = append(f, "--web.enable-admin-api")
	}
	return f
}

// describe is a line for the notes: what b's data is.
func (b BlockScenario) describe() string {
	iv := shortDur(time.Duration(b.IntervalMs) * time.Millisecond)
	switch b.Kind {
	case CutsKind:
		return fmt.Sprintf("%s node_exporter-like series, one sample per %s, %d rounds (%s samples, round 0 untimed) through %s blocks",
			human(float64(b.Series)), iv, b.rounds(), human(float64(b.Series*b.rounds())), promDuration(b.BlockRange))
	case DiskKind:
		return fmt.Sprintf("%s series (FACTS.md's storage mix), one sample per %s over %s, default block range", human(float64(b.Series)), iv, shortDur(b.Span))
	case ParquetKind:
		return fmt.Sprintf("mytsdb only: %s node_exporter-like series (%d hosts) over %s at %s (%s samples), --storage.tsdb.min-block-duration=24h --storage.tsdb.max-block-duration=24h; "+
			"the first 24h block is local and in the default FILESYSTEM bucket, then (restart with --storage.parquet.local-retention=0s) only in the bucket; "+
			"query_range `%s` over [%s, +1h] of the block at step %s (%d series, every sample), timed %d times warm after a warm-up, once cold after the restart",
			human(float64(b.Series)), parquetHosts, shortDur(b.Span), iv, human(float64(b.Series*b.rounds())), parquetQuery, shortDur(parquetOffset), iv, parquetHosts, b.QueryIters)
	case HistoryKind:
		return fmt.Sprintf("%s dashboard series (%d hosts: node_exporter-like plus 4 classic histograms of 12 buckets each) over %s at %s (%s samples), "+
			"--storage.tsdb.min-block-duration=%s --storage.tsdb.max-block-duration=%s; queries end at the last sample; each timed %d times after a warm-up; queries: %s",
			human(float64(b.Series)), loadgen.MixDashboard.Hosts(b.Series), shortDur(b.Span), iv, human(float64(b.Series*b.rounds())),
			promDuration(b.blockRange()), promDuration(b.MaxBlock), b.QueryIters, queryList())
	case ConvertKind:
		return fmt.Sprintf("the real Prometheus writes %s dashboard series over %s at %s (%s samples) into --storage.tsdb.min-block-duration=%s blocks and a WAL, and stops; "+
			"each server starts on a copy of that directory with its default flags while %s new series are remote-written at one sample per %s of synthetic time (at most %s of it); "+
			"mytsdb converts the history meanwhile, and its load goes on %s past the end of the conversion (Prometheus's: %s in all)",
			human(float64(b.Series)), shortDur(b.Span), iv, human(float64(b.Series*b.rounds())), promDuration(b.blockRange()),
			human(float64(b.LiveSeries)), shortDur(convertLiveIntervalMs*time.Millisecond), shortDur(convertLiveSpan), shortDur(convertAfter), shortDur(2*convertAfter))
	}
	return ""
}

func queryList() string {
	var qs []string
	for _, q := range dashboardQueries {
		qs = append(qs, "`"+q.expr+"`")
	}
	return strings.Join(qs, ", ")
}

// shortDur writes 24h30m0s as 24h30m and 1m0s as 1m.
func shortDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// promDuration writes d as Prometheus's duration flags take it: 10m, 3h.
func promDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

func (b BlockScenario) id() string {
	if b.Kind == ConvertKind {
		return fmt.Sprintf("%s-%d-%d", b.Kind, b.Series, b.LiveSeries)
	}
	return b.idPlain()
}

func (b BlockScenario) idPlain() string { return fmt.Sprintf("%s-%d", b.Kind, b.Series) }

// rowSpec is one row a block scenario reports.
type rowSpec struct {
	key, label string
	metric     Metric
	target     Target
}

// Query ranges of HistoryKind: the range and the step a dashboard would use.
var historyRanges = []struct {
	name  string
	rng   time.Duration
	minSt time.Duration
}{{"1h", time.Hour, 15 * time.Second}, {"6h", 6 * time.Hour, 30 * time.Second}, {"24h", 24 * time.Hour, 2 * time.Minute}}

// dashboardQueries are HistoryKind's queries, one per row pair (p50, p99) and
// range; target is the most mytsdb/Prometheus each row may be (0: 1).
var dashboardQueries = []struct {
	name, expr string
	target     float64
}{
	{"rate", `rate(node_network_receive_bytes_total[5m])`, 0},
	// A third of the load's series (3,000 at 24 hosts: the three metrics
	// with the most series per host, whose label sets stay distinct once
	// rate() drops the name) through rate(), summed to one result series so
	// the time is reading and rate, not JSON: issue 11's "24h rate() over
	// many series", where decoding is most of the storage's share.
	{"sum(rate) of 3 metrics", `sum(rate({__name__=~"http_request_duration_seconds_bucket|node_cpu_seconds_total|node_scrape_collector_duration_seconds"}[5m]))`, 0.5},
	{"sum by", `sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))`, 0},
	{"topk", `topk(5, rate(node_disk_read_bytes_total[5m]))`, 0},
	{"count by __name__", `count by (__name__) ({job="node"})`, 0},
	{"avg_over_time", `avg_over_time(node_scrape_collector_duration_seconds[10m])`, 0},
	{"histogram_quantile", `histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))`, 0},
}

// step is a range query's step: a dashboard's minimum for the range, never
// below the data's interval.
func (b BlockScenario) step(minStep time.Duration) time.Duration {
	return max(minStep, time.Duration(b.IntervalMs)*time.Millisecond)
}

func (b BlockScenario) rows() []rowSpec {
	id, n := b.id(), human(float64(b.Series))
	switch b.Kind {
	case CutsKind:
		where := fmt.Sprintf("%s series, %s blocks, RW %s", n, promDuration(b.BlockRange), b.Protocol)
		return []rowSpec{
			{id + "/rss", fmt.Sprintf("peak RSS (VmHWM) bytes per active series through %d head cuts, %s", b.Cuts, where), RSSPerSeries, atMost(0.4)},
			{id + "/growth", "RSS growth through the cuts: peak VmRSS of the head cycle before the last cut / before the first, " + where, Ratio, Target{Op: "≤", X: 1.1, OnMytsdb: true}},
			{id + "/cuts", "head cuts seen (level-1 blocks written), " + where, Count, Target{}},
			{id + "/steady", "ingest samples/s while no block is being written, " + where, Ingest, Target{}},
			{id + "/during", "ingest samples/s while a head cut or compaction writes a block, " + where, Ingest, Target{}},
			{id + "/ratio", "ingest while a block is written / steady ingest, " + where, Ratio, Target{Op: "≥", X: 0.9, OnMytsdb: true}},
			{id + "/worst", "slowest 1 s of ingest / median 1 s, " + where, Ratio, Target{}},
		}
	case DiskKind:
		samples := int64(b.Series) * int64(b.rounds())
		return []rowSpec{{id + "/bps", fmt.Sprintf("snapshot bytes per sample (admin snapshot with head), %s samples: %s series × %s at %d s; ½ integer counters, ¼ 2-decimal, ¼ full-precision gauges",
			human(float64(samples)), n, shortDur(b.Span), b.IntervalMs/1000), BytesPerSample, atMost(1)}}
	case HistoryKind:
		var rows []rowSpec
		for _, q := range dashboardQueries {
			target := q.target
			if target == 0 {
				target = 1
			}
			for _, r := range historyRanges {
				for _, p := range []string{"p50", "p99"} {
					rows = append(rows, rowSpec{fmt.Sprintf("%s/%s/%s/%s", id, q.name, r.name, p),
						fmt.Sprintf("query %s over %s (step %s), %s ms, %s series", q.name, r.name, shortDur(b.step(r.minSt)), p, n), Millis, atMost(target)})
				}
			}
		}
		if b.Restart {
			rows = append(rows, rowSpec{id + "/restart", fmt.Sprintf("restart-to-ready s (SIGKILL) with %s of blocks plus a full head (1.4 ranges), %s series", shortDur(b.Span), n), RestartTime, atMost(0.3)})
		}
		return rows
	case ParquetKind:
		where := fmt.Sprintf("1h of %d series in a 24h block of %s series", parquetHosts, n)
		return []rowSpec{
			{id + "/local-bps", "bytes per sample of the 24h block, local", BytesPerSample, Target{}},
			{id + "/parquet-bps", "bytes per sample of the same block in the bucket (Parquet)", BytesPerSample, Target{}},
			{id + "/bps-ratio", "Parquet bytes / local block bytes", Ratio, Target{Op: "≤", X: 1, OnMytsdb: true}},
			{id + "/getrange", "GetRange calls of the query, cold cache, block only in the bucket, " + where, Count, Target{Op: "≤", X: 10, OnMytsdb: true}},
			{id + "/fetched", "bytes fetched from the bucket by that cold query, " + where, Count, Target{Op: "≤", X: 1e6, OnMytsdb: true}},
			{id + "/cold-ms", "that cold query, ms, " + where, Millis, Target{}},
			{id + "/local-ms", "warm query p50 ms, block local, " + where, Millis, Target{}},
			{id + "/parquet-ms", "warm query p50 ms, block only in the bucket, " + where, Millis, Target{}},
			{id + "/ratio", "warm query from the bucket / from the local block", Ratio, Target{Op: "≤", X: 2, OnMytsdb: true}},
		}
	case ConvertKind:
		where := fmt.Sprintf("%s history samples of %s series, live load of %s series, RW %s", human(float64(b.Series*b.rounds())), n, human(float64(b.LiveSeries)), b.Protocol)
		return []rowSpec{
			{id + "/speed", "samples/s: mytsdb converting a Prometheus data directory into its blocks (verified) under load; Prometheus: its remote-write ingest of that same history, " + where, Ingest, Target{}},
			{id + "/ingest", "live ingest samples/s while mytsdb converts the history (Prometheus: the first " + shortDur(convertAfter) + " on the same directory), " + where, Ingest, Target{}},
			{id + "/ratio", "live ingest while converting / after (Prometheus: first " + shortDur(convertAfter) + " / next " + shortDur(convertAfter) + "), " + where, Ratio, Target{Op: "≥", X: 0.9, OnMytsdb: true}},
		}
	}
	return nil
}

// blockOutcome is what one block scenario run produced for one server.
type blockOutcome struct {
	values map[string]float64
	errs   map[string]error
	notes  []string
	prints map[string]fingerprint // HistoryKind: query results, to compare the servers
}

func newBlockOutcome() *blockOutcome {
	return &blockOutcome{values: map[string]float64{}, errs: map[string]error{}, prints: map[string]fingerprint{}}
}

// fail records err for every row of b without a figure or an error yet.
func (o *blockOutcome) fail(b BlockScenario, err error) {
	for _, r := range b.rows() {
		if _, ok := o.values[r.key]; !ok {
			if _, ok := o.errs[r.key]; !ok {
				o.errs[r.key] = err
			}
		}
	}
}

func (o *blockOutcome) notef(format string, args ...any) {
	o.notes = append(o.notes, fmt.Sprintf(format, args...))
}

// runBlock runs b against a fresh server started from binary.
func runBlock(ctx context.Context, cfg *Config, name, binary, configFile string, extra []string, b BlockScenario, l *loadgen.Load, seed convertSeed, logf func(string, ...any)) *blockOutcome {
	o := newBlockOutcome()
	dir, err := os.MkdirTemp(cfg.WorkDir, "mytsdb-bench-"+name+"-"+b.Kind.String()+"-")
	if err != nil {
		o.fail(b, fmt.Errorf("temp dir: %w", err))
		return o
	}
	defer os.RemoveAll(dir)
	dataDir, logPath := filepath.Join(dir, "data"), filepath.Join(dir, "server.log")
	flags := b.flags()
	if b.Kind == ConvertKind {
		// The servers start as a user's would after the swap: their
		// defaults, on a copy of the directory Prometheus wrote.
		flags = nil
		if err := copyDir(dataDir, seed.dir); err != nil {
			o.fail(b, fmt.Errorf("copy the seed: %w", err))
			return o
		}
	}
	p, err := startProc(name, binary, configFile, dataDir, logPath, append(append([]string(nil), extra...), flags...))
	if err != nil {
		o.fail(b, err)
		return o
	}
	defer func() { p.stop() }() // p is replaced by the restarted process, if any
	if err := p.waitReady(ctx, cfg.ReadyTimeout); err != nil {
		o.fail(b, fmt.Errorf("start: %w", err))
		return o
	}
	r := &blockRunner{ctx: ctx, cfg: cfg, b: b, l: l, p: p, dataDir: dataDir, o: o, logf: logf}
	switch b.Kind {
	case CutsKind:
		r.cuts()
	case DiskKind:
		r.disk()
	case HistoryKind:
		r.history()
	case ConvertKind:
		r.convert(seed, name == "mytsdb")
	case ParquetKind:
		r.parquet()
	}
	p = r.p
	o.fail(b, errors.New("no figure (see the notes)"))
	return o
}

// blockRunner holds one block scenario run.
type blockRunner struct {
	ctx     context.Context
	cfg     *Config
	b       BlockScenario
	l       *loadgen.Load
	p       *proc
	dataDir string
	o       *blockOutcome
	logf    func(string, ...any)
}

// ingest sends rounds [from, to), capped by BlockMaxIngest; progress may be nil.
func (r *blockRunner) ingest(from, to int, progress *atomic.Int64) (loadgen.Stats, error) {
	client := loadgen.NewClient(r.cfg.Senders)
	client.Timeout = r.cfg.RequestTimeout
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.BlockMaxIngest)
	defer cancel()
	st, err := r.l.RunProgress(ctx, client, r.p.url+"/api/v1/write", from, to, progress)
	switch {
	case err == nil:
		return st, nil
	case errors.Is(err, context.DeadlineExceeded) && r.ctx.Err() == nil:
		return st, fmt.Errorf("ingest: only %d samples of rounds [%d, %d) within %s", st.Samples, from, to, r.cfg.BlockMaxIngest)
	}
	return st, fmt.Errorf("ingest: %w; server log tail: %s", err, r.p.logTail())
}

// verify checks that the server returns the first and the last round.
func (r *blockRunner) verify() error {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.RequestTimeout)
	defer cancel()
	if err := countSeries(ctx, r.p.url, r.l); err != nil {
		return err
	}
	return seesSample(ctx, r.p.url, r.l, r.b.Series-1, r.b.rounds()-1)
}
