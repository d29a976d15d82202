package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelmetric "go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// export sends rm to both servers with the OpenTelemetry SDK's HTTP
// exporter (gzip-compressed protobuf) as tenant ("" sends no header). Both
// must accept it, or both refuse it with the same answer, which export
// returns.
func (p *pair) export(rm *metricdata.ResourceMetrics, tenant string) string {
	p.t.Helper()
	var errs [2]string
	for i, pr := range p.both() {
		if err := exportTo(pr.addr, tenant, rm); err != nil {
			// The SDK's message names the URL, which differs.
			errs[i] = strings.ReplaceAll(err.Error(), pr.addr, "ADDR")
		}
	}
	if errs[0] != errs[1] {
		p.t.Fatalf("export:\n mytsdb     %s\n prometheus %s", errs[0], errs[1])
	}
	return errs[0]
}

const otlpPath = "/api/v1/otlp/v1/metrics"

func exportTo(addr, tenant string, rm *metricdata.ResourceMetrics) error {
	ctx := context.Background()
	opts := []otlpmetrichttp.Option{
		otlpmetrichttp.WithEndpoint(addr),
		otlpmetrichttp.WithInsecure(),
		otlpmetrichttp.WithURLPath(otlpPath),
		otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression),
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}),
		otlpmetrichttp.WithTimeout(10 * time.Second),
	}
	if tenant != "" {
		opts = append(opts, otlpmetrichttp.WithHeaders(map[string]string{"X-Scope-OrgID": tenant}))
	}
	exp, err := otlpmetrichttp.New(ctx, opts...)
	if err != nil {
		return err
	}
	defer exp.Shutdown(ctx)
	return exp.Export(ctx, rm)
}

// storedPaths are the API calls whose answers must match: every series, and
// every raw sample (floats and native histograms) of the last 10 minutes.
// (/api/v1/metadata is not among them: both servers take it from scrape
// targets only, so OTLP leaves it empty.)
func storedPaths(at time.Time, selector string) []string {
	ts := strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
	return []string{
		"/api/v1/series?" + url.Values{"match[]": {selector}}.Encode(),
		"/api/v1/query?" + url.Values{"query": {selector + "[10m]"}, "time": {ts}}.Encode(),
		"/api/v1/query?" + url.Values{"query": {selector}, "time": {ts}}.Encode(),
	}
}

// sameExemplars compares /api/v1/query_exemplars for every series over the
// last 10 minutes (sorted: the order across series is the exemplar
// storage's), which must hold want.
func (p *pair) sameExemplars(at time.Time, want string) {
	p.t.Helper()
	sec := func(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }
	path := "/api/v1/query_exemplars?" + url.Values{"query": {`{__name__=~".+"}`}, "start": {sec(at.Add(-10 * time.Minute))}, "end": {sec(at)}}.Encode()
	mc, mb := get(p.t, p.mine.url(path))
	rc, rb := get(p.t, p.ref.url(path))
	mb, rb = sortedData(p.t, mb), sortedData(p.t, rb)
	if mc != rc || mb != rb {
		p.t.Errorf("GET %s:\n mytsdb     %d %s\n prometheus %d %s", path, mc, mb, rc, rb)
	} else if !strings.Contains(mb, want) {
		p.t.Errorf("GET %s: both answered %s, which lacks %s", path, mb, want)
	}
}

// sdkMetrics records a counter, an up-down counter, a gauge, an explicit
// and an exponential histogram with the OpenTelemetry SDK and collects them
// with temporality; each call to collect adds one more round of values.
type sdkMetrics struct {
	round   int
	collect func() *metricdata.ResourceMetrics
}

func newSDKMetrics(t *testing.T, temporality metricdata.Temporality) *sdkMetrics {
	t.Helper()
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality { return temporality }))
	res := resource.NewSchemaless(
		attribute.String("service.name", "checkout"),
		attribute.String("service.namespace", "shop"),
		attribute.String("service.instance.id", "pod-7"),
		attribute.String("deployment.environment", "prod"),
		attribute.String("host.name", "node-1"),
	)
	mp := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(reader),
		sdkmetric.WithResource(res),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Name: "rpc.server.duration.exp"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}},
		)),
	)
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m := mp.Meter("mytsdb.test/otlp")
	ctx := context.Background()
	requests, _ := m.Int64Counter("http.server.requests")
	inflight, _ := m.Int64UpDownCounter("http.server.active_requests")
	temp, _ := m.Float64Gauge("room.temperature")
	dur, _ := m.Float64Histogram("http.server.duration")
	exp, _ := m.Float64Histogram("rpc.server.duration.exp")
	s := &sdkMetrics{}
	// Measurements inside a sampled span carry exemplars (the SDK's
	// default trace-based exemplar filter).
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	record := func(round int) {
		ctx, span := tp.Tracer("otlp-test").Start(ctx, "request")
		defer span.End()
		for i, route := range []string{"/cart", "/pay", "/a.b"} {
			attrs := attribute.NewSet(attribute.String("http.route", route), attribute.Int("http.status_code", 200+i))
			requests.Add(ctx, int64(3*round+i+1), otelmetric.WithAttributeSet(attrs))
			inflight.Add(ctx, int64(round-i), otelmetric.WithAttributeSet(attrs))
			temp.Record(ctx, 20.5+float64(round)/4+float64(i), otelmetric.WithAttributeSet(attrs))
			for k := 0; k < 5; k++ {
				v := float64((round+1)*(k+1)*(i+1)) * 3.7
				dur.Record(ctx, v, otelmetric.WithAttributeSet(attrs))
				exp.Record(ctx, v/100, otelmetric.WithAttributeSet(attrs))
			}
		}
	}
	s.collect = func() *metricdata.ResourceMetrics {
		record(s.round)
		s.round++
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		return &rm
	}
	return s
}

// TestOTLPSDKMatchesPrometheus sends what the OpenTelemetry Go SDK's OTLP
// HTTP exporter produces (gzip protobuf) to mytsdb and to the real
// Prometheus: the stored series, samples and metadata must be the same,
// before and after a reload that changes the otlp: translation options, and
// a tenant named with X-Scope-OrgID gets its own series.
func TestOTLPSDKMatchesPrometheus(t *testing.T) {
	cfg := `global:
  scrape_interval: 15s
otlp:
  promote_resource_attributes: [deployment.environment]
  keep_identifying_resource_attributes: true
`
	p := startPair(t, cfg, "--enable-feature=exemplar-storage")
	m := newSDKMetrics(t, metricdata.CumulativeTemporality)
	for range 2 {
		if err := p.export(m.collect(), ""); err != "" {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	at := time.Now()
	p.sameAnswers(storedPaths(at, `{__name__=~".+"}`)...)
	p.sameExemplars(at, "trace_id")
	// Every kind of instrument made it: counters, gauges, classic and
	// native (exponential) histograms, and the promoted attribute.
	_, b := get(t, p.mine.url(storedPaths(at, `{__name__=~".+"}`)[1]))
	for _, want := range []string{`"http_server_requests_total"`, `"http_server_active_requests"`, `"room_temperature"`, `"http_server_duration_bucket"`, `"rpc_server_duration_exp"`, `"histograms":`, `"deployment_environment":"prod"`, `"target_info"`} {
		if !strings.Contains(b, want) {
			t.Errorf("stored data lacks %s: %.2000s", want, b)
		}
	}

	// The new translation options apply to the next request.
	p.reload(`global:
  scrape_interval: 15s
otlp:
  translation_strategy: NoUTF8EscapingWithSuffixes
  promote_all_resource_attributes: true
  ignore_resource_attributes: [host.name]
  promote_scope_metadata: true
`)
	if err := p.export(m.collect(), ""); err != "" {
		t.Fatal(err)
	}
	at = time.Now()
	p.sameAnswers(storedPaths(at, `{__name__=~".+"}`)...)
	if _, b := get(t, p.mine.url("/api/v1/series?"+url.Values{"match[]": {`{"http.server.requests_total"}`}}.Encode())); !strings.Contains(b, "otel_scope_name") {
		t.Errorf("after the reload, the UTF-8 names and scope labels are missing: %s", b)
	}

	// A tenant's OTLP data lands in that tenant only.
	rm := m.collect()
	if err := exportTo(p.mine.addr, "team-a", rm); err != nil {
		t.Fatal(err)
	}
	sel := url.Values{"match[]": {`{__name__="target_info"}`}}.Encode()
	_, def := get(t, p.mine.url("/api/v1/series?"+sel))
	_, ten := get(t, p.mine.url("/api/v1/series?"+sel), "X-Scope-OrgID", "team-a")
	_, other := get(t, p.mine.url("/api/v1/series?"+sel), "X-Scope-OrgID", "team-b")
	if !strings.Contains(ten, "checkout") || other != `{"status":"success","data":[]}` || def == ten {
		t.Errorf("tenant separation: default %s, team-a %s, team-b %s", def, ten, other)
	}
	if err := exportTo(p.mine.addr, "bad/tenant", rm); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("invalid tenant: got %v, want a 400", err)
	}
}

// TestOTLPDeltaFeatures compares delta-temporality data under both delta
// feature flags and without them, as Prometheus decides for each.
func TestOTLPDeltaFeatures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flags   []string
		refused bool // Prometheus answers 500 for each delta metric
	}{
		{"refused by default", nil, true},
		{"deltatocumulative", []string{"--enable-feature=otlp-deltatocumulative"}, false},
		{"native-delta", []string{"--enable-feature=otlp-native-delta-ingestion"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startPair(t, "global:\n  scrape_interval: 15s\n", tc.flags...)
			m := newSDKMetrics(t, metricdata.DeltaTemporality)
			for range 3 {
				err := p.export(m.collect(), "")
				if refused := strings.Contains(err, "500 Internal Server Error") && strings.Contains(err, "invalid temporality"); refused != tc.refused || !refused && err != "" {
					t.Fatalf("export: %q, want refused=%v", err, tc.refused)
				}
				time.Sleep(15 * time.Millisecond)
			}
			at := time.Now()
			// A refused request stores nothing, not even its gauge and
			// target_info (the appender is rolled back).
			p.compare(!tc.refused, storedPaths(at, `{__name__=~".+"}`)...)
			_, mf := get(t, p.mine.url("/api/v1/features"))
			_, rf := get(t, p.ref.url("/api/v1/features"))
			if featureSection(t, mf, "otlp_receiver") != featureSection(t, rf, "otlp_receiver") || featureSection(t, mf, "api") != featureSection(t, rf, "api") {
				t.Errorf("/api/v1/features differ:\n mytsdb     %s\n prometheus %s", mf, rf)
			}
		})
	}
}

func featureSection(t *testing.T, body, section string) string {
	t.Helper()
	var r struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("features %q: %v", body, err)
	}
	return string(r.Data[section])
}

// TestOTLPBadRequests sends malformed and unusual OTLP requests to both
// servers: same status and body each, and nothing already accepted is lost.
func TestOTLPBadRequests(t *testing.T) {
	p := startPair(t, "global:\n  scrape_interval: 15s\n")
	now := time.Now()
	jsonGauge := func(name string, ts time.Time, v float64) string {
		return fmt.Sprintf(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}}]},"scopeMetrics":[{"metrics":[{"name":%q,"gauge":{"dataPoints":[{"timeUnixNano":"%d","asDouble":%v}]}}]}]}]}`, name, ts.UnixNano(), v)
	}
	gz := func(s string) string {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write([]byte(s))
		_ = w.Close()
		return b.String()
	}
	for _, tc := range []struct {
		name, method, ctype, enc, body string
	}{
		{"json gauge", http.MethodPost, "application/json", "", jsonGauge("json_gauge", now.Add(-time.Minute), 1.5)},
		{"json gauge gzip", http.MethodPost, "application/json", "gzip", gz(jsonGauge("json_gauge", now, 2.5))},
		{"out of order", http.MethodPost, "application/json", "", jsonGauge("json_gauge", now.Add(-30*time.Second), 9)},
		{"duplicate with another value", http.MethodPost, "application/json", "", jsonGauge("json_gauge", now, 7)},
		{"empty json", http.MethodPost, "application/json", "", "{}"},
		{"empty protobuf", http.MethodPost, "application/x-protobuf", "", ""},
		{"garbage protobuf", http.MethodPost, "application/x-protobuf", "", "\x0a\xff\xff\xff\xff\x0f"},
		{"garbage json", http.MethodPost, "application/json", "", `{"resourceMetrics":[`},
		{"json wrong type", http.MethodPost, "application/json", "", `{"resourceMetrics":"x"}`},
		{"unknown content type", http.MethodPost, "text/plain", "", "x"},
		{"no content type", http.MethodPost, "", "", "x"},
		{"json with charset", http.MethodPost, "application/json; charset=utf-8", "", "{}"},
		{"snappy", http.MethodPost, "application/x-protobuf", "snappy", "x"},
		{"not gzip", http.MethodPost, "application/x-protobuf", "gzip", "not gzip"},
		{"truncated gzip", http.MethodPost, "application/json", "gzip", gz(jsonGauge("json_gauge", now, 3))[:20]},
		{"GET", http.MethodGet, "", "", ""},
		{"PUT", http.MethodPut, "application/json", "", "{}"},
	} {
		var codes [2]int
		var bodies [2]string
		for i, pr := range p.both() {
			req, err := http.NewRequest(tc.method, pr.url(otlpPath), strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.enc != "" {
				req.Header.Set("Content-Encoding", tc.enc)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			codes[i], bodies[i] = resp.StatusCode, string(b)
		}
		if codes[0] != codes[1] || bodies[0] != bodies[1] {
			t.Errorf("%s:\n mytsdb     %d %q\n prometheus %d %q", tc.name, codes[0], bodies[0], codes[1], bodies[1])
		}
	}
	p.sameAnswers(storedPaths(time.Now(), `{__name__=~".+"}`)...)
}
