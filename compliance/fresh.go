package compliance

import (
	"bytes"
	"compress/gzip"
	"context"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"mytsdb/compliance/compare"
)

// The fresh phase checks what needs data stamped just before "now", which
// the corpus's data set (it ends Lead-Span before the run) cannot give:
// /federate answers the newest sample within the lookback delta of the
// server's clock. It also carries the OTLP receiver's checks (its own write
// path) and exemplars. It runs after the corpus, so its series (fresh_*,
// otlp_*, target_info) are in no corpus case.

// freshStep is the spacing of the fresh samples; the newest lies freshStep
// before the phase starts, well inside the 5m lookback while the phase runs.
const freshStep = 10 * time.Second

// FreshFlags are the flags both servers need for the fresh phase, and the
// search API's feature, which the corpus's search cases need.
func FreshFlags() []string {
	return []string{"--web.enable-otlp-receiver", "--enable-feature=exemplar-storage", "--enable-feature=search-api"}
}

// Fresh writes the fresh data to both servers by remote write and by OTLP
// (each write a compared case), then compares /federate in every format and
// its errors, the OTLP series and samples, and /api/v1/query_exemplars.
func (e *Env) Fresh(ctx context.Context, refURL, candURL string) []Outcome {
	now := time.Now()
	t0 := now.Add(-4 * freshStep).Truncate(time.Second)
	var outs []Outcome
	var g guard
	both := func(name, path string, mk func(serverURL string) (*http.Request, error)) {
		req := func(u string) compare.Response {
			hr, err := mk(u)
			if err != nil {
				return compare.Response{Err: err}
			}
			return protoTextSpaces(send(hr.WithContext(ctx)))
		}
		ref := req(refURL)
		cand := g.do(func() compare.Response { return req(candURL) })
		outs = append(outs, Outcome{Name: "fresh: " + name, Result: compare.Compare(path, compare.Mode{}, ref, cand)})
	}
	post := func(name, path string, body []byte, header ...string) {
		both(name, path, func(u string) (*http.Request, error) {
			hr, err := http.NewRequest(http.MethodPost, u+path, bytes.NewReader(body))
			for i := 0; err == nil && i+1 < len(header); i += 2 {
				hr.Header.Set(header[i], header[i+1])
			}
			return hr, err
		})
	}
	getQ := func(name, path string, q url.Values, header ...string) {
		both(name, path, func(u string) (*http.Request, error) {
			hr, err := http.NewRequest(http.MethodGet, u+path+"?"+q.Encode(), nil)
			for i := 0; err == nil && i+1 < len(header); i += 2 {
				hr.Header.Set(header[i], header[i+1])
			}
			return hr, err
		})
	}

	rw, err := freshRemoteWrite(t0).Marshal()
	if err != nil {
		return append(outs, Outcome{Name: "fresh: encode remote write", Result: compare.Result{Reason: err.Error()}})
	}
	post("remote write", "/api/v1/write", snappy.Encode(nil, rw),
		"Content-Type", "application/x-protobuf", "Content-Encoding", "snappy", "X-Prometheus-Remote-Write-Version", "0.1.0")
	for _, w := range freshOTLPWrites(t0) {
		post("otlp "+w.Name, "/api/v1/otlp/v1/metrics", w.Body, headerList(w.Headers)...)
	}

	sec := func(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }
	end := t0.Add(3 * freshStep)
	for _, sel := range []string{`{__name__=~"otlp_.+"}`, `target_info`, `{__name__=~"fresh_.+"}`} {
		getQ("series "+sel, "/api/v1/series", url.Values{"match[]": {sel}, "start": {sec(t0.Add(-time.Minute))}})
		getQ("samples "+sel, "/api/v1/query", url.Values{"query": {sel + "[1m]"}, "time": {sec(end)}})
	}
	for _, q := range []string{`otlp_jobs_total`, `otlp_wait_seconds_bucket`, `{__name__=~"otlp_.+|fresh_.+"}`, `fresh_requests_total`, `rate(fresh_requests_total[1m])`} {
		getQ("exemplars "+q, "/api/v1/query_exemplars", url.Values{"query": {q}, "start": {sec(t0.Add(-time.Minute))}, "end": {sec(end)}})
	}

	const (
		delim   = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
		text    = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"
		compact = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=compact-text"
	)
	fed := func(sel ...string) url.Values { return url.Values{"match[]": sel} }
	all := fed(`{__name__=~"fresh_.+|otlp_.+"}`)
	for _, accept := range []string{"", "text/plain", "text/plain;version=0.0.4", delim, text, compact, "application/openmetrics-text;version=1.0.0", delim + ";q=0.2,text/plain;q=0.8"} {
		getQ("federate Accept="+accept, "/federate", all, "Accept", accept)
	}
	getQ("federate gzip", "/federate", all, "Accept", "text/plain", "Accept-Encoding", "gzip")
	getQ("federate overlapping match[]", "/federate", fed(`fresh_requests_total`, `{__name__=~"fresh_req.+"}`, `{job="fresh",kind="hist"}`), "Accept", "text/plain")
	getQ("federate nothing", "/federate", fed(`nope`), "Accept", "text/plain")
	for _, bad := range []url.Values{{}, fed(`{job=`), fed(`{job=""}`), fed(`sum(fresh_requests_total)`)} {
		getQ("federate "+bad.Encode(), "/federate", bad)
	}
	return outs
}

// protoTextSpaces collapses the runs of spaces in a protobuf text-format
// body: Go's protobuf library inserts an extra space after a field name or
// not depending on a hash of the running binary (its detrand package), on
// purpose, so two binaries never agree byte for byte.
func protoTextSpaces(r compare.Response) compare.Response {
	ct := r.Header.Get("Content-Type")
	if !strings.Contains(ct, "encoding=text") && !strings.Contains(ct, "encoding=compact-text") {
		return r
	}
	r.Body = multiSpace.ReplaceAll(r.Body, []byte(" "))
	return r
}

var multiSpace = regexp.MustCompile(`  +`)

func headerList(h map[string]string) []string {
	var out []string
	for k, v := range h {
		out = append(out, k, v)
	}
	return out
}

// freshRemoteWrite is the remote-written part: counters with exemplars, a
// gauge with a stale marker, one native and one gauge histogram, sharing a
// name with a float series, and a series older than the lookback delta.
func freshRemoteWrite(t0 time.Time) *prompb.WriteRequest {
	at := func(i int) int64 { return t0.Add(time.Duration(i) * freshStep).UnixMilli() }
	lbl := func(kv ...string) []prompb.Label {
		var out []prompb.Label
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, prompb.Label{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	floats := func(ls []prompb.Label, vals ...float64) prompb.TimeSeries {
		ts := prompb.TimeSeries{Labels: ls}
		for i, v := range vals {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: at(i), Value: v})
		}
		return ts
	}
	req := floats(lbl("__name__", "fresh_requests_total", "code", "200", "instance", "a", "job", "fresh"), 1, 5, 9, 14)
	req.Exemplars = []prompb.Exemplar{
		{Labels: lbl("trace_id", "t-1"), Value: 1, Timestamp: at(1)},
		{Labels: lbl("trace_id", "t-2", "span_id", "s-9"), Value: 0.25, Timestamp: at(3)},
	}
	nh := &histogram.Histogram{
		Schema: 2, Count: 8, Sum: 12.5, ZeroThreshold: 0.001, ZeroCount: 1,
		PositiveSpans: []histogram.Span{{Offset: 1, Length: 2}}, PositiveBuckets: []int64{2, 1},
		NegativeSpans: []histogram.Span{{Offset: 0, Length: 1}}, NegativeBuckets: []int64{2},
	}
	gh := &histogram.FloatHistogram{
		CounterResetHint: histogram.GaugeType, Count: 3, Sum: -1,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}}, PositiveBuckets: []float64{3},
	}
	return &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		req,
		floats(lbl("__name__", "fresh_requests_total", "code", "500", "instance", "b", "job", "fresh"), 0, 1),
		floats(lbl("__name__", "fresh_gauge", "instance", "a", "job", "fresh"), 3.5, -2, 7.125),
		floats(lbl("__name__", "fresh_gauge", "instance", "gone", "job", "fresh"), 1, math.Float64frombits(value.StaleNaN)),
		floats(lbl("__name__", "fresh_mixed", "job", "fresh", "kind", "float"), 2),
		{Labels: lbl("__name__", "fresh_mixed", "job", "fresh", "kind", "hist"), Histograms: []prompb.Histogram{prompb.FromIntHistogram(at(2), nh)}},
		{Labels: lbl("__name__", "fresh_gaugehist", "job", "fresh", "kind", "hist"), Histograms: []prompb.Histogram{prompb.FromFloatHistogram(at(2), gh)}},
		{Labels: lbl("__name__", "fresh_old", "job", "fresh"), Samples: []prompb.Sample{{Timestamp: t0.Add(-10 * time.Minute).UnixMilli(), Value: 1}}},
	}}
}

// freshOTLP is an OTLP write: its name, headers and body.
type freshOTLP struct {
	Name    string
	Headers map[string]string
	Body    []byte
}

// freshOTLPWrites are OTLP requests in protobuf, JSON and gzip, with a
// cumulative sum and a histogram carrying exemplars, a gauge, an
// exponential histogram and resource attributes (target_info), then
// malformed ones.
func freshOTLPWrites(t0 time.Time) []freshOTLP {
	ts := func(i int) pcommon.Timestamp {
		return pcommon.NewTimestampFromTime(t0.Add(time.Duration(i) * freshStep))
	}
	build := func(round int) pmetricotlp.ExportRequest {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		ra := rm.Resource().Attributes()
		ra.PutStr("service.name", "billing")
		ra.PutStr("service.namespace", "shop")
		ra.PutStr("service.instance.id", "pod-1")
		ra.PutStr("cloud.region", "eu-west-1")
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("compliance")
		ms := sm.Metrics()

		jobs := ms.AppendEmpty()
		jobs.SetName("otlp.jobs")
		jobs.SetUnit("{job}")
		jobs.SetDescription("Jobs done.")
		sum := jobs.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := sum.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(ts(-1))
		dp.SetTimestamp(ts(round))
		dp.SetIntValue(int64(10 * (round + 1)))
		dp.Attributes().PutStr("queue", "high")
		ex := dp.Exemplars().AppendEmpty()
		ex.SetTimestamp(ts(round))
		ex.SetIntValue(int64(round + 1))
		ex.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(round)})
		ex.SetSpanID(pcommon.SpanID{9, 8, 7, 6, 5, 4, 3, byte(round)})

		g := ms.AppendEmpty()
		g.SetName("otlp.queue.depth")
		g.SetUnit("1")
		gp := g.SetEmptyGauge().DataPoints().AppendEmpty()
		gp.SetTimestamp(ts(round))
		gp.SetDoubleValue(0.5 + float64(round))
		gp.Attributes().PutStr("queue", "high")

		h := ms.AppendEmpty()
		h.SetName("otlp.wait")
		h.SetUnit("s")
		hist := h.SetEmptyHistogram()
		hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		hp := hist.DataPoints().AppendEmpty()
		hp.SetTimestamp(ts(round))
		hp.SetCount(uint64(6 * (round + 1)))
		hp.SetSum(3.5 * float64(round+1))
		hp.ExplicitBounds().FromRaw([]float64{0.1, 1})
		hp.BucketCounts().FromRaw([]uint64{uint64(round + 1), uint64(3 * (round + 1)), uint64(2 * (round + 1))})
		hex := hp.Exemplars().AppendEmpty()
		hex.SetTimestamp(ts(round))
		hex.SetDoubleValue(0.7)
		hex.SetTraceID(pcommon.TraceID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(round)})

		e := ms.AppendEmpty()
		e.SetName("otlp.size")
		e.SetUnit("By")
		eh := e.SetEmptyExponentialHistogram()
		eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		ep := eh.DataPoints().AppendEmpty()
		ep.SetTimestamp(ts(round))
		ep.SetScale(1)
		ep.SetCount(uint64(5 * (round + 1)))
		ep.SetSum(100 * float64(round+1))
		ep.SetZeroCount(uint64(round + 1))
		ep.Positive().SetOffset(2)
		ep.Positive().BucketCounts().FromRaw([]uint64{uint64(round + 1), uint64(3 * (round + 1))})
		return pmetricotlp.NewExportRequestFromMetrics(md)
	}
	var out []freshOTLP
	pb := func(name string, r pmetricotlp.ExportRequest) {
		b, err := r.MarshalProto()
		if err == nil {
			out = append(out, freshOTLP{name, map[string]string{"Content-Type": "application/x-protobuf"}, b})
		}
	}
	js := func(name string, r pmetricotlp.ExportRequest, gz bool) {
		b, err := r.MarshalJSON()
		if err != nil {
			return
		}
		h := map[string]string{"Content-Type": "application/json"}
		if gz {
			var buf bytes.Buffer
			w := gzip.NewWriter(&buf)
			_, _ = w.Write(b)
			_ = w.Close()
			b, h["Content-Encoding"] = buf.Bytes(), "gzip"
		}
		out = append(out, freshOTLP{name, h, b})
	}
	pb("protobuf round 0", build(0))
	js("json round 1", build(1), false)
	js("json gzip round 2", build(2), true)
	pb("protobuf round 3", build(3))
	pb("out of order (round 1 again with other values)", build(1))
	out = append(out,
		freshOTLP{"garbage protobuf", map[string]string{"Content-Type": "application/x-protobuf"}, []byte("\x0a\xff\xff\xff\xff\x0f")},
		freshOTLP{"garbage json", map[string]string{"Content-Type": "application/json"}, []byte(`{"resourceMetrics":[`)},
		freshOTLP{"unknown content type", map[string]string{"Content-Type": "text/plain"}, []byte("x")},
		freshOTLP{"snappy encoding", map[string]string{"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"}, []byte("x")},
		freshOTLP{"not gzip", map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}, []byte("{}")},
		freshOTLP{"empty", map[string]string{"Content-Type": "application/json"}, []byte("{}")},
	)
	return out
}
