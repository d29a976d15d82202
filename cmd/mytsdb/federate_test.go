package main

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

// answer is one HTTP exchange's outcome, as compared between the servers.
type answer struct {
	code                  int
	contentType, encoding string
	allow                 string
	body                  string
}

func do(t *testing.T, method, u string, body []byte, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// A transport that leaves gzip alone: the compressed bytes are compared.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "encoding=text") || strings.Contains(ct, "encoding=compact-text") {
		// Go's protobuf text encoder adds a space after field names or not
		// by a hash of the running binary (on purpose): compare without.
		b = regexp.MustCompile(`  +`).ReplaceAll(b, []byte(" "))
	}
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"), resp.Header.Get("Allow"), string(b)}
}

// federationData is written to both servers: floats, a stale series, one
// older than the lookback delta, native histograms of each kind, a custom-
// bucket one, a float and a histogram series sharing a name, and series that
// carry or lack the external labels.
func federationData(now time.Time) *prompb.WriteRequest {
	ms := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }
	lbl := func(kv ...string) []prompb.Label {
		var out []prompb.Label
		for i := 0; i < len(kv); i += 2 {
			out = append(out, prompb.Label{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	floats := func(ls []prompb.Label, vals ...float64) prompb.TimeSeries {
		ts := prompb.TimeSeries{Labels: ls}
		for i, v := range vals {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: ms(time.Duration(len(vals)-i) * 20 * time.Second), Value: v})
		}
		return ts
	}
	nh := &histogram.Histogram{
		Schema: 1, Count: 13, Sum: 33.5, ZeroThreshold: 0.001, ZeroCount: 2,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}, {Offset: 3, Length: 1}}, PositiveBuckets: []int64{3, 1, -2},
		NegativeSpans: []histogram.Span{{Offset: 1, Length: 1}}, NegativeBuckets: []int64{2},
	}
	gaugeFH := &histogram.FloatHistogram{
		CounterResetHint: histogram.GaugeType, Schema: 0, Count: 5.5, Sum: -2.25,
		PositiveSpans: []histogram.Span{{Offset: -1, Length: 2}}, PositiveBuckets: []float64{1.5, 4},
	}
	nhcb := &histogram.FloatHistogram{
		Schema: histogram.CustomBucketsSchema, Count: 9, Sum: 40,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 1}}, PositiveBuckets: []float64{2, 3, 4},
		CustomValues: []float64{0.5, 1, 5},
	}
	hist := func(ls []prompb.Label, h prompb.Histogram) prompb.TimeSeries {
		return prompb.TimeSeries{Labels: ls, Histograms: []prompb.Histogram{h}}
	}
	return &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		floats(lbl("__name__", "fed_gauge", "instance", "i1", "job", "j"), 1, 2.5, 3.25),
		floats(lbl("__name__", "fed_gauge", "instance", "i2", "job", "j"), 7, math.Float64frombits(value.StaleNaN)),
		floats(lbl("__name__", "fed_gauge", "instance", "i3", "job", "j"), math.Inf(-1), math.NaN()),
		{Labels: lbl("__name__", "fed_old", "job", "j"), Samples: []prompb.Sample{{Timestamp: ms(3 * time.Minute), Value: 4}}},
		floats(lbl("__name__", "fed_counter", "cluster", "theirs", "job", "j"), 10, 20),
		floats(lbl("__name__", "fed_bare"), 0.1),
		floats(lbl("__name__", "a_first", "job", "j", "zone", "eu"), 1e-9),
		hist(lbl("__name__", "fed_nh", "job", "j"), prompb.FromIntHistogram(ms(30*time.Second), nh)),
		hist(lbl("__name__", "fed_gaugehist", "job", "j"), prompb.FromFloatHistogram(ms(30*time.Second), gaugeFH)),
		hist(lbl("__name__", "fed_nhcb", "job", "j"), prompb.FromFloatHistogram(ms(30*time.Second), nhcb)),
		floats(lbl("__name__", "fed_mixed", "job", "j", "kind", "float"), 5),
		hist(lbl("__name__", "fed_mixed", "job", "j", "kind", "hist"), prompb.FromIntHistogram(ms(25*time.Second), nh)),
		floats(lbl("__name__", "fed_mixed", "job", "j", "kind", "zfloat"), 6),
	}}
}

// TestFederateMatchesPrometheus writes the same data to mytsdb and the real
// Prometheus (same external labels, --query.lookback-delta=2m) and asks
// both's /federate the same questions: every format the Accept header can
// negotiate, gzip, overlapping and bad match[] selectors, other methods. The
// status, Content-Type, Content-Encoding and bytes must be the same.
func TestFederateMatchesPrometheus(t *testing.T) {
	cfg := `global:
  scrape_interval: 15s
  external_labels:
    cluster: c1
    replica: r-0
`
	p := startPair(t, cfg, "--query.lookback-delta=2m")
	now := time.Now()
	for _, pr := range p.both() {
		if code, body, err := remoteWriteAs(http.DefaultClient, pr.addr, "", federationData(now)); err != nil || code != http.StatusNoContent {
			t.Fatalf("remote write to %s: %d %s %v", pr.addr, code, body, err)
		}
	}
	// mytsdb's other tenant holds other data under the same names.
	other := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "fed_gauge"}, {Name: "job", Value: "other-tenant"}},
		Samples: []prompb.Sample{{Timestamp: now.Add(-10 * time.Second).UnixMilli(), Value: 42}},
	}}}
	if code, body, err := remoteWriteAs(http.DefaultClient, p.mine.addr, "t2", other); err != nil || code != http.StatusNoContent {
		t.Fatalf("remote write to tenant t2: %d %s %v", code, body, err)
	}

	q := func(sel ...string) string { return "/federate?" + url.Values{"match[]": sel}.Encode() }
	const (
		protoDelim   = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
		protoText    = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"
		protoCompact = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=compact-text"
	)
	cases := []struct {
		name, method, path string
		header             []string
	}{
		{"all, no Accept", "GET", q(`{job="j"}`), nil},
		{"text", "GET", q(`{job="j"}`), []string{"Accept", "text/plain"}},
		{"text 0.0.4", "GET", q(`{__name__=~"fed_.+|a_first"}`), []string{"Accept", "text/plain;version=0.0.4"}},
		{"proto delimited", "GET", q(`{__name__=~".+"}`), []string{"Accept", protoDelim}},
		{"proto text", "GET", q(`{__name__=~".+"}`), []string{"Accept", protoText}},
		{"proto compact", "GET", q(`{__name__=~".+"}`), []string{"Accept", protoCompact}},
		{"openmetrics falls back", "GET", q(`{job="j"}`), []string{"Accept", "application/openmetrics-text;version=1.0.0"}},
		{"weighted Accept", "GET", q(`{job="j"}`), []string{"Accept", protoDelim + ";q=0.5,text/plain;q=0.9"}},
		{"gzip", "GET", q(`{__name__=~".+"}`), []string{"Accept", "text/plain", "Accept-Encoding", "gzip"}},
		{"overlapping selectors", "GET", q(`fed_gauge`, `{__name__=~"fed_g.*"}`, `fed_counter{cluster="theirs"}`), []string{"Accept", "text/plain"}},
		{"nothing matches", "GET", q(`nope`), []string{"Accept", "text/plain"}},
		{"no match[]", "GET", "/federate", nil},
		{"bad selector", "GET", q(`{job=`), nil},
		{"empty matchers", "GET", q(`{job=""}`), nil},
		{"a query, not a selector", "GET", q(`sum(fed_gauge)`), nil},
		{"bad form", "GET", "/federate?match[]=%zz", nil},
		{"POST", "POST", q(`{job="j"}`), nil},
		{"HEAD", "HEAD", q(`{job="j"}`), nil},
		{"PUT", "PUT", q(`{job="j"}`), nil},
		{"DELETE", "DELETE", "/federate", nil},
		{"OPTIONS", "OPTIONS", "/federate", nil},
	}
	for _, tc := range cases {
		mine := do(t, tc.method, p.mine.url(tc.path), nil, tc.header...)
		ref := do(t, tc.method, p.ref.url(tc.path), nil, tc.header...)
		if mine != ref {
			t.Errorf("%s (%s %s %v):\n mytsdb     %+v\n prometheus %+v", tc.name, tc.method, tc.path, tc.header, mine, ref)
		}
	}

	// The comparison is not of two empty answers: the text holds what the
	// data says it must, and leaves out what it must not.
	text := do(t, "GET", p.mine.url(q(`{__name__=~".+"}`)), nil, "Accept", "text/plain").body
	for _, want := range []string{`fed_gauge{instance="i1",job="j",cluster="c1",replica="r-0"} 3.25`, `fed_counter{cluster="theirs",job="j",instance="",replica="r-0"} 20`, `fed_nhcb_bucket{job="j",cluster="c1",instance="",replica="r-0",le="0.5"} 2`} {
		if !strings.Contains(text, want) {
			t.Errorf("federation text lacks %s:\n%s", want, text)
		}
	}
	for _, unwanted := range []string{`instance="i2"`, "fed_old", "fed_nh{", "fed_gaugehist"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("federation text holds %s (stale, past the lookback, or a native histogram in text):\n%s", unwanted, text)
		}
	}
	// The protobuf answer parses and carries the native histograms.
	pb := do(t, "GET", p.mine.url(q(`{__name__=~"fed_nh|fed_gaugehist"}`)), nil, "Accept", protoDelim).body
	dec := expfmt.NewDecoder(strings.NewReader(pb), expfmt.NewFormat(expfmt.TypeProtoDelim))
	var kinds []string
	for {
		mf := new(dto.MetricFamily)
		if err := dec.Decode(mf); err != nil {
			break
		}
		kinds = append(kinds, mf.GetName()+":"+mf.GetType().String())
	}
	if strings.Join(kinds, " ") != "fed_gaugehist:GAUGE_HISTOGRAM fed_nh:HISTOGRAM" {
		t.Errorf("protobuf families %v", kinds)
	}

	// A tenant federates its own series only.
	t2 := do(t, "GET", p.mine.url(q(`fed_gauge`)), nil, "Accept", "text/plain", "X-Scope-OrgID", "t2").body
	if !strings.Contains(t2, `job="other-tenant"`) || strings.Contains(t2, `"i1"`) {
		t.Errorf("tenant t2's federation: %s", t2)
	}
	if a := do(t, "GET", p.mine.url(q(`fed_gauge`)), nil, "X-Scope-OrgID", "a/b"); a.code != http.StatusBadRequest {
		t.Errorf("invalid tenant: %+v", a)
	}
}
