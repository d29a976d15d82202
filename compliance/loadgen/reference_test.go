package loadgen

import (
	"math"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// want is the sample a body must carry for series i in round r.
type want struct {
	labels []Label
	t      int64
	v      float64
}

func expected(l *Load, s, b, r int) []want {
	var out []want
	for _, i := range l.BatchSeries(s, b) {
		out = append(out, want{labels: SeriesLabels(int(i)), t: l.Timestamp(r), v: Value(int(i), r)})
	}
	return out
}

func testConfig(p Protocol) Config {
	return Config{Series: 2*SeriesPerHost() + 17, Senders: 3, BatchSize: 100, Protocol: p,
		StartMs: 1_764_000_000_000, IntervalMs: 15_000}
}

// decodeV1 decodes a body with the upstream prompb types.
func decodeV1(t *testing.T, body []byte) []want {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatalf("snappy: %v", err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		t.Fatalf("prompb.WriteRequest.Unmarshal: %v", err)
	}
	var out []want
	for _, ts := range req.Timeseries {
		if len(ts.Samples) != 1 || len(ts.Histograms) != 0 || len(ts.Exemplars) != 0 {
			t.Fatalf("series %v: %d samples, %d histograms, %d exemplars", ts.Labels, len(ts.Samples), len(ts.Histograms), len(ts.Exemplars))
		}
		var ls []Label
		for _, l := range ts.Labels {
			ls = append(ls, Label{l.Name, l.Value})
		}
		out = append(out, want{labels: ls, t: ts.Samples[0].Timestamp, v: ts.Samples[0].Value})
	}
	return out
}

// decodeV2 decodes a body with the upstream writev2 types.
func decodeV2(t *testing.T, body []byte) []want {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatalf("snappy: %v", err)
	}
	var req writev2.Request
	if err := req.Unmarshal(raw); err != nil {
		t.Fatalf("writev2.Request.Unmarshal: %v", err)
	}
	if len(req.Symbols) == 0 || req.Symbols[0] != "" {
		t.Fatalf("symbol 0 must be the empty string, got %q", req.Symbols[:min(1, len(req.Symbols))])
	}
	var out []want
	for _, ts := range req.Timeseries {
		if len(ts.Samples) != 1 {
			t.Fatalf("%d samples in a series", len(ts.Samples))
		}
		if ts.Metadata.Type != writev2.Metadata_METRIC_TYPE_COUNTER && ts.Metadata.Type != writev2.Metadata_METRIC_TYPE_GAUGE {
			t.Fatalf("metadata type %v", ts.Metadata.Type)
		}
		var ls []Label
		for k := 0; k+1 < len(ts.LabelsRefs); k += 2 {
			ls = append(ls, Label{req.Symbols[ts.LabelsRefs[k]], req.Symbols[ts.LabelsRefs[k+1]]})
		}
		out = append(out, want{labels: ls, t: ts.Samples[0].Timestamp, v: ts.Samples[0].Value})
	}
	return out
}

func compare(t *testing.T, where string, got, exp []want) {
	t.Helper()
	if len(got) != len(exp) {
		t.Fatalf("%s: %d series decoded, want %d", where, len(got), len(exp))
	}
	for k := range exp {
		g, e := got[k], exp[k]
		if g.t != e.t || math.Float64bits(g.v) != math.Float64bits(e.v) {
			t.Fatalf("%s: series %d: sample (%d, %v), want (%d, %v)", where, k, g.t, g.v, e.t, e.v)
		}
		if len(g.labels) != len(e.labels) {
			t.Fatalf("%s: series %d: labels %v, want %v", where, k, g.labels, e.labels)
		}
		for j := range e.labels {
			if g.labels[j] != e.labels[j] {
				t.Fatalf("%s: series %d: labels %v, want %v", where, k, g.labels, e.labels)
			}
		}
	}
}

// TestBodiesDecodeWithUpstreamProtobuf is the reference check: every body of
// several rounds, in both protocols, decodes with Prometheus's own generated
// Unmarshal to exactly the intended series, timestamps and values.
func TestBodiesDecodeWithUpstreamProtobuf(t *testing.T) {
	for _, p := range []Protocol{V1, V2} {
		t.Run(p.String(), func(t *testing.T) {
			cfg := testConfig(p)
			l, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			decode := decodeV1
			if p == V2 {
				decode = decodeV2
			}
			seen := make([]int, cfg.Series)
			for _, r := range []int{0, 1, 7, 3} { // also out of order: patching must not depend on the previous round
				for s := range l.Senders() {
					for b := range l.Batches(s) {
						body, err := l.Body(s, b, r)
						if err != nil {
							t.Fatal(err)
						}
						compare(t, "round "+string(rune('0'+r)), decode(t, body), expected(l, s, b, r))
						for _, i := range l.BatchSeries(s, b) {
							if int(i)%cfg.Senders != s {
								t.Fatalf("series %d sent by sender %d", i, s)
							}
							seen[i]++
						}
					}
				}
			}
			for i, n := range seen {
				if n != 4 {
					t.Fatalf("series %d sent %d times in 4 rounds", i, n)
				}
			}
		})
	}
}

func TestSeriesAreUniqueAndNodeExporterLike(t *testing.T) {
	n := 3 * SeriesPerHost()
	seen := map[string]bool{}
	for i := range n {
		ls := SeriesLabels(i)
		key := ""
		for j, l := range ls {
			if j > 0 && ls[j-1].Name >= l.Name {
				t.Fatalf("series %d: labels not sorted: %v", i, ls)
			}
			key += l.Name + "=" + l.Value + ","
		}
		if seen[key] {
			t.Fatalf("series %d duplicates %s", i, key)
		}
		seen[key] = true
		if ls[0].Name != "__name__" {
			t.Fatalf("series %d: first label %q", i, ls[0].Name)
		}
	}
	if names := metricNames(); len(names) < 90 || len(names) > 130 {
		t.Fatalf("%d metric names, want about 100", len(names))
	}
	if SeriesPerHost() < 300 {
		t.Fatalf("only %d series per host", SeriesPerHost())
	}
}

func TestCountersNeverDecrease(t *testing.T) {
	for i := range SeriesPerHost() {
		if k := SeriesKind(i); k != Counter && k != SecondsCounter {
			continue
		}
		for r := range 200 {
			if Value(i, r+1) < Value(i, r) {
				t.Fatalf("series %d decreases from round %d to %d: %v > %v", i, r, r+1, Value(i, r), Value(i, r+1))
			}
		}
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	err := Config{}.Validate()
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, s := range []string{"Series", "Senders", "BatchSize", "protocol", "IntervalMs", "StartMs"} {
		if !contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	cfg := testConfig(V1)
	cfg.StartMs = 1 << 42
	if _, err := New(cfg); err == nil {
		t.Fatal("timestamp needing 7 varint bytes accepted")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
