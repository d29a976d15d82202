package bench

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAnalyzeTicks: cycles end where the cut count grows, rates split by
// whether a block was being written, 1 s windows.
func TestAnalyzeTicks(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var ticks []tick
	for i := range 41 { // 4 s at 100 ms: 1000 samples per tick, 500 while writing
		tk := tick{at: t0.Add(time.Duration(i) * 100 * time.Millisecond), rss: int64(100 + i)}
		if i > 0 {
			tk.samples = ticks[i-1].samples + 1000
		}
		if i >= 10 && i < 20 {
			tk.writing = true
			tk.samples -= 500
		}
		switch {
		case i >= 30:
			tk.cuts = 2
		case i >= 15:
			tk.cuts = 1
		}
		ticks = append(ticks, tk)
	}
	a := analyzeTicks(ticks, t0, t0.Add(4*time.Second))
	if a.cuts != 2 || len(a.cyclePeak) != 2 || a.cyclePeak[0] != 114 || a.cyclePeak[1] != 129 || a.atCut[1] != 130 {
		t.Fatalf("cuts %d, cycle peaks %v, at cut %v", a.cuts, a.cyclePeak, a.atCut)
	}
	// Intervals 10..20 touch a writing tick: 11 intervals of 100 ms.
	if math.Abs(a.writingSeconds-1.1) > 1e-9 {
		t.Fatalf("writing %v s", a.writingSeconds)
	}
	if math.Abs(a.steadyRate-10_000) > 1e-6 {
		t.Fatalf("steady rate %v, want 10000/s", a.steadyRate)
	}
	if a.writingRate >= a.steadyRate || a.worst1s >= a.median1s || a.median1s != 10_000 {
		t.Fatalf("writing %v, worst 1 s %v, median 1 s %v", a.writingRate, a.worst1s, a.median1s)
	}
}

func TestBlockScannerBothLayouts(t *testing.T) {
	meta := func(dir, ulid string, level int) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := `{"ulid":"` + ulid + `","minTime":0,"maxTime":3600000,"stats":{"numSamples":42},"compaction":{"level":` + string(rune('0'+level)) + `}` +
			",\n\t\"crc32c\": \"00000000\"\n}\n" // mytsdb's trailer is valid JSON
		if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prom, ours := t.TempDir(), t.TempDir()
	meta(filepath.Join(prom, "01JABCDEFGHJKMNPQRSTVWXYZ0"), "01JABCDEFGHJKMNPQRSTVWXYZ0", 1)
	meta(filepath.Join(prom, "01JABCDEFGHJKMNPQRSTVWXYZ1"), "01JABCDEFGHJKMNPQRSTVWXYZ1", 2)
	os.MkdirAll(filepath.Join(prom, "01JABCDEFGHJKMNPQRSTVWXYZ2.tmp-for-creation"), 0o755)
	os.MkdirAll(filepath.Join(prom, "wal"), 0o755)
	meta(filepath.Join(prom, "snapshots", "x", "01JABCDEFGHJKMNPQRSTVWXYZ3"), "01JABCDEFGHJKMNPQRSTVWXYZ3", 1)
	meta(filepath.Join(ours, "default", "blocks", "01JABCDEFGHJKMNPQRSTVWXYZ0"), "01JABCDEFGHJKMNPQRSTVWXYZ0", 1)
	os.MkdirAll(filepath.Join(ours, "default", "blocks", "01JABCDEFGHJKMNPQRSTVWXYZ2.tmp-for-creation"), 0o755)
	os.MkdirAll(filepath.Join(ours, "default", "blocks", "01JABCDEFGHJKMNPQRSTVWXYZ9"), 0o755) // no meta.json yet
	for _, c := range []struct {
		dir           string
		blocks, level int
	}{{prom, 2, 2}, {ours, 1, 1}} {
		bs, writing, err := newBlockScanner(c.dir).scan()
		if err != nil || len(bs) != c.blocks || writing != 1 {
			t.Fatalf("%s: blocks %+v, writing %d, err %v", c.dir, bs, writing, err)
		}
		if bs[len(bs)-1].Level != c.level || bs[0].Samples != 42 {
			t.Fatalf("%s: %+v", c.dir, bs)
		}
	}
	if isULID("wal") || isULID("01JABCDEFGHJKMNPQRSTVWXYZU") || !isULID("01jabcdefghjkmnpqrstvwxyz0") {
		t.Fatal("isULID")
	}
}

func TestVerdicts(t *testing.T) {
	row := func(p, m float64, tg Target) Row {
		return Row{Prometheus: Cell{Values: []float64{p}}, Mytsdb: Cell{Values: []float64{m}}, Target: tg}
	}
	for _, c := range []struct {
		r    Row
		want string
	}{
		{row(100, 50, atMost(0.4)), "missed by 25%"},
		{row(100, 30, atMost(0.4)), "met"},
		{row(100, 270, atLeast(3)), "missed by 10%"},
		{row(1, 0.81, Target{Op: "≥", X: 0.9, OnMytsdb: true}), "missed by 10%"},
		{row(1, 1.0, Target{Op: "≤", X: 1.1, OnMytsdb: true}), "met"},
		{row(1, 1, Target{}), ""},
	} {
		if got := c.r.Verdict(); got != c.want {
			t.Errorf("%+v: verdict %q, want %q", c.r, got, c.want)
		}
	}
	if s := (Target{Op: "≥", X: 0.9, OnMytsdb: true}).String(); s != "mytsdb ≥ 0.9" {
		t.Errorf("target %q", s)
	}
}

func TestMatrixFingerprint(t *testing.T) {
	body := []byte(`{"status":"success","data":{"resultType":"matrix","result":[` +
		`{"metric":{"a":"1"},"values":[[1,"1.5"],[2,"NaN"]]},{"metric":{},"values":[[1,"2"]]}]}}`)
	fp, err := matrixFingerprint(body)
	if err != nil || fp != (fingerprint{Series: 2, Points: 3, NaNs: 1, Sum: 3.5}) {
		t.Fatalf("%+v %v", fp, err)
	}
	if !fp.same(fingerprint{Series: 2, Points: 3, NaNs: 1, Sum: 3.5 + 1e-12}) || fp.same(fingerprint{Series: 2, Points: 3, NaNs: 1, Sum: 3.6}) {
		t.Fatal("same")
	}
	if q := quantile([]time.Duration{5, 1, 3, 2, 4}, 0.5); q != 3 {
		t.Fatalf("p50 %v", q)
	}
	if q := quantile([]time.Duration{5, 1, 3, 2, 4}, 0.99); q != 5 {
		t.Fatalf("p99 %v", q)
	}
}

// TestBlockScenarioShapes: the loads are where the scenarios need them.
func TestBlockScenarioShapes(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 17, 0, 0, time.UTC)
	for _, cfg := range []Config{Full(), Quick()} {
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, b := range cfg.Blocks {
			start := b.startMs(now)
			last := start + int64(b.rounds()-1)*b.IntervalMs
			r := b.blockRange().Milliseconds()
			if last >= now.UnixMilli() || start%b.IntervalMs != 0 {
				t.Errorf("%s: data [%d, %d] not in the past or off the interval", b.Kind, start, last)
			}
			switch b.Kind {
			case CutsKind:
				// Cut k happens when the data passes start + (k+0.5) ranges.
				if start%r != 0 || last <= start+int64(b.Cuts)*r+r/2 {
					t.Errorf("cuts: %d cuts need more than %d ms of data, have %d", b.Cuts, int64(b.Cuts)*r+r/2, last-start)
				}
			case HistoryKind:
				if h := last - (last/r)*r + r; h < r*13/10 || h >= r*3/2 {
					t.Errorf("history: head spans %d ms, want 1.3 to 1.5 ranges", h)
				}
				if last-start < 24*time.Hour.Milliseconds() {
					t.Errorf("history: %d ms of data", last-start)
				}
			}
			if len(b.rows()) == 0 || !strings.Contains(b.describe(), "series") {
				t.Errorf("%s: rows %d, describe %q", b.Kind, len(b.rows()), b.describe())
			}
		}
	}
	cfg := Full()
	if err := cfg.Only([]string{"disk", "history"}); err != nil || len(cfg.Scenarios) != 0 || len(cfg.Blocks) != 2 {
		t.Fatalf("Only: %v, %d scenarios, %d blocks", err, len(cfg.Scenarios), len(cfg.Blocks))
	}
	if err := cfg.Only([]string{"nope"}); err == nil {
		t.Fatal("unknown group accepted")
	}
	var md bytes.Buffer
	rep := &Report{Config: cfg, Rows: buildRows(cfg), Notes: []string{"a note"}}
	rep.WriteMarkdown(&md)
	for _, s := range []string{"snapshot bytes per sample", "query histogram_quantile over 24h (step 2m), p99 ms", "restart-to-ready s (SIGKILL) with 24h30m of blocks", "- a note"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, md.String())
		}
	}
}

// TestRateAround: the ticks split at the moment given, the tick at the
// split counted in both halves.
func TestRateAround(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var ticks []convertTick
	for i := range 21 { // 1000 samples/s for 1 s, then 500/s
		tk := convertTick{at: t0.Add(time.Duration(i) * 100 * time.Millisecond)}
		if i > 0 {
			tk.samples = ticks[i-1].samples + 100
			if i > 10 {
				tk.samples -= 50
			}
		}
		ticks = append(ticks, tk)
	}
	before, after := rateAround(ticks, t0.Add(time.Second))
	if math.Abs(before-1000) > 1e-6 || math.Abs(after-500) > 1e-6 {
		t.Fatalf("before %v after %v, want 1000 and 500", before, after)
	}
	if b, a := rateAround(ticks, time.Time{}); math.Abs(b-750) > 1e-6 || a != 0 {
		t.Fatalf("no split: %v %v, want 750 and 0", b, a)
	}
}
