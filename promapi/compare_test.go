package promapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"

	"mytsdb/promapi/remotewrite"
)

const compareConfig = `global:
  scrape_interval: 15s
  evaluation_interval: 1m
`

// apiCase is one request sent to both servers.
type apiCase struct {
	name   string
	method string     // GET if empty
	path   string     // path and query string
	form   url.Values // POST body (form-encoded)
	raw    string     // POST body sent as is (form-encoded content type)
	header http.Header
	// norm, if set, rewrites the decoded JSON of both answers before they
	// are compared (for fields that legitimately differ: timings, versions).
	norm func(v any) any
}

// answer is what a server said.
type answer struct {
	code        int
	contentType string
	allow       string
	location    string
	cors        string
	body        []byte
}

// noRedirects shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, base string, c apiCase) answer {
	method := c.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if c.form != nil {
		body = strings.NewReader(c.form.Encode())
	}
	if c.raw != "" {
		body = strings.NewReader(c.raw)
	}
	req, err := http.NewRequest(method, base+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.form != nil || c.raw != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{
		code: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), allow: resp.Header.Get("Allow"),
		location: resp.Header.Get("Location"), cors: resp.Header.Get("Access-Control-Allow-Origin"), body: b,
	}
}

// newTestAPI serves the API over a real Prometheus TSDB (teststorage), with
// the engine configured like the reference server. Each of with may change
// the options before New is called.
func newTestAPI(t *testing.T, cfgFile string, with ...func(*Options, *teststorage.TestStorage)) (*API, *teststorage.TestStorage) {
	st := teststorage.New(t)
	cfg, err := config.LoadFile(cfgFile, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	foldFlags(cfg)
	tracker, err := promql.NewActiveQueryTracker(t.TempDir(), 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tracker.Close() })
	engine := promql.NewEngine(promql.EngineOpts{
		MaxSamples:               refMaxSamples,
		Timeout:                  2 * time.Minute,
		LookbackDelta:            5 * time.Minute,
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Duration(cfg.GlobalConfig.EvaluationInterval).Milliseconds() },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		ActiveQueryTracker:       tracker,
	})
	opts := Options{
		Engine:  engine,
		Storage: func(string) (TenantStorage, error) { return headBounds{st}, nil },
		Config:  func() config.Config { return *cfg },
		Flags:   map[string]string{},
		RemoteWrite: remotewrite.NewHandler(remotewrite.Options{
			Appendable: func(string) (storage.AppendableV2, error) { return st, nil },
		}),
	}
	for _, f := range with {
		f(&opts, st)
	}
	return New(opts), st
}

// foldFlags does what prometheus's main folds into the loaded config from
// the reference server's flags (--log.level=error, the exemplar-storage
// feature, the default --storage.tsdb.retention.time); cmd/mytsdb must do
// the same for /status/config to match.
func foldFlags(cfg *config.Config) {
	cfg.Runtime.LogLevel = "error"
	cfg.StorageConfig.ExemplarsConfig = &config.DefaultExemplarsConfig
	cfg.StorageConfig.TSDBConfig.Retention = &config.TSDBRetentionConfig{Time: model.Duration(15 * 24 * time.Hour)}
}

// headBounds gives the scan-based /status/tsdb the head's time range.
type headBounds struct{ *teststorage.TestStorage }

func (h headBounds) MinTime() int64 { return h.Head().MinTime() }
func (h headBounds) MaxTime() int64 { return h.Head().MaxTime() }

func TestCompareWithPrometheus(t *testing.T) {
	ref := startPrometheus(t, compareConfig)
	api, _ := newTestAPI(t, ref.ConfigFile)
	// Mounted as the web package mounts it: below /api/v1/ on a ServeMux
	// (whose path cleaning clients see, as they see Prometheus's).
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api.Handler())
	ours := httptest.NewServer(mux)
	defer ours.Close()

	base := dataBase()
	set := testDataSet(base)
	// The same remote-write request to both: ours goes through /api/v1/write
	// (promapi/remotewrite) into the TSDB behind our handler.
	remoteWrite(t, ref.URL, writeRequest(set, base))
	remoteWrite(t, ours.URL, writeRequest(set, base))

	for _, c := range compareCases(base) {
		t.Run(c.name, func(t *testing.T) {
			want := do(t, ref.URL, c)
			got := do(t, ours.URL, c)
			compareAnswers(t, c, want, got)
		})
	}
	compareRemoteRead(t, ref.URL, ours.URL, base)
}

func compareAnswers(t *testing.T, c apiCase, want, got answer) {
	t.Helper()
	if want.code != got.code {
		t.Errorf("status: prometheus %d, ours %d\nprometheus: %s\nours:       %s", want.code, got.code, want.body, got.body)
		return
	}
	if want.contentType != got.contentType {
		t.Errorf("content-type: prometheus %q, ours %q", want.contentType, got.contentType)
	}
	if want.allow != got.allow {
		t.Errorf("Allow: prometheus %q, ours %q", want.allow, got.allow)
	}
	if want.location != got.location {
		t.Errorf("Location: prometheus %q, ours %q", want.location, got.location)
	}
	if want.cors != got.cors {
		t.Errorf("Access-Control-Allow-Origin: prometheus %q, ours %q", want.cors, got.cors)
	}
	wb, gb := want.body, got.body
	if c.norm != nil {
		wb, gb = normalize(t, wb, c.norm), normalize(t, gb, c.norm)
	}
	if !bytes.Equal(wb, gb) {
		t.Errorf("body differs\nprometheus: %s\nours:       %s", wb, gb)
	}
}

func normalize(t *testing.T, b []byte, f func(any) any) []byte {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	out, err := json.Marshal(f(v))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// at walks a decoded JSON value along keys.
func at(v any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

// dropStatsTimings blanks data.stats.timings (wall-clock measurements).
func dropStatsTimings(v any) any {
	if s := at(v, "data", "stats"); s != nil {
		s["timings"] = "ignored"
	}
	return v
}

// blankFields sets the named fields of data to "ignored".
func blankFields(fields ...string) func(any) any {
	return func(v any) any {
		if d := at(v, "data"); d != nil {
			for _, f := range fields {
				if _, ok := d[f]; ok {
					d[f] = "ignored"
				}
			}
		}
		return v
	}
}

// sortTSDBStats orders stat lists by (value desc, name): the order of equal
// counts is random in Prometheus. With cut set, the entries tied with the
// last one are dropped too: which of them survive a limit is random as well.
func sortTSDBStats(v any) any { return tsdbStatsNorm(v, false) }

func cutTSDBStats(v any) any { return tsdbStatsNorm(v, true) }

func tsdbStatsNorm(v any, cut bool) any {
	d := at(v, "data")
	if d == nil {
		return v
	}
	if h := at(v, "data", "headStats"); h != nil {
		h["chunkCount"] = "ignored" // a head metric, not ours to reproduce
	}
	for k, l := range d {
		list, ok := l.([]any)
		if !ok {
			continue
		}
		sort.SliceStable(list, func(i, j int) bool {
			a, b := list[i].(map[string]any), list[j].(map[string]any)
			av, _ := a["value"].(json.Number).Int64()
			bv, _ := b["value"].(json.Number).Int64()
			if av != bv {
				return av > bv
			}
			return a["name"].(string) < b["name"].(string)
		})
		if cut && len(list) > 0 {
			last := list[len(list)-1].(map[string]any)["value"]
			for len(list) > 0 && list[len(list)-1].(map[string]any)["value"] == last {
				list = list[:len(list)-1]
			}
		}
		d[k] = list
	}
	return v
}

func sec(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64) }

func rfc(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

func compareCases(base int64) []apiCase {
	mid := base + 20*dataStepMs
	end := base + (dataPoints-1)*dataStepMs
	q := func(query string, extra ...string) string {
		v := url.Values{"query": {query}, "time": {sec(mid)}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return "/api/v1/query?" + v.Encode()
	}
	qr := func(query string, extra ...string) string {
		v := url.Values{"query": {query}, "start": {sec(base)}, "end": {sec(end)}, "step": {"30s"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return "/api/v1/query_range?" + v.Encode()
	}
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	cases := []apiCase{
		// Instant queries: every result type, values that format awkwardly.
		{name: "query vector", path: q("test_gauge")},
		{name: "query odd floats over time", path: q("test_gauge{instance=\"a\"}[10m]")},
		{name: "query sum by", path: q("sum by (job) (test_requests_total)")},
		{name: "query rate", path: q("rate(test_requests_total[2m])")},
		{name: "query histogram", path: q("test_histogram")},
		{name: "query histogram range", path: q("test_histogram[1m]")},
		{name: "query histogram_quantile", path: q("histogram_quantile(0.9, test_histogram)")},
		{name: "query scalar", path: q("1.5")},
		{name: "query scalar tiny", path: q("0.0000001")},
		{name: "query scalar inf", path: q("-Inf")},
		{name: "query scalar nan", path: q("NaN")},
		{name: "query string", path: q(`"a<b>&\"c"`)},
		{name: "query escaping", path: q("test_escape")},
		{name: "query utf8", path: q(`{"test.utf8.name"}`)},
		{name: "query empty result", path: q("does_not_exist")},
		{name: "query rfc3339 time", path: "/api/v1/query?" + url.Values{"query": {"test_gauge"}, "time": {rfc(mid)}}.Encode()},
		{name: "query fractional time", path: "/api/v1/query?" + url.Values{"query": {"test_gauge"}, "time": {sec(mid) + ".1234"}}.Encode()},
		{name: "query info annotation", path: q("rate(test_gauge[5m])")},
		{name: "query warning annotation", path: q("histogram_quantile(0.9, test_requests_total)")},
		{name: "query limit", path: q("test_gauge", "limit", "1")},
		{name: "query limit zero", path: q("test_gauge", "limit", "0")},
		{name: "query lookback_delta", path: q("test_gauge", "lookback_delta", "1s")},
		{name: "query stats", path: q("test_gauge", "stats", "true"), norm: dropStatsTimings},
		{name: "query stats all", path: q("test_gauge", "stats", "all"), norm: dropStatsTimings},
		{name: "query stats deprecated", path: q("test_gauge", "stats", "yes"), norm: dropStatsTimings},
		{name: "query POST", method: http.MethodPost, path: "/api/v1/query", form: form("query", "test_gauge", "time", sec(mid))},
		{name: "query POST limit", method: http.MethodPost, path: "/api/v1/query", form: form("query", "test_requests_total", "time", sec(mid), "limit", "2")},
		// Instant query errors.
		{name: "query missing", path: "/api/v1/query?time=" + sec(mid)},
		{name: "query parse error", path: q("sum(")},
		{name: "query bad time", path: q("1", "time", "yesterday")},
		{name: "query bad limit", path: q("1", "limit", "x")},
		{name: "query negative limit", path: q("1", "limit", "-1")},
		{name: "query bad timeout", path: q("1", "timeout", "soon")},
		{name: "query zero timeout", path: q("1", "timeout", "0")},
		{name: "query bad lookback", path: q("1", "lookback_delta", "x")},
		{name: "query bad start timestamps header", path: q("1"), header: http.Header{"X-Prometheus-Use-Start-Timestamps": {"maybe"}}},
		{name: "query many-to-many", path: q("test_requests_total + on(job) test_requests_total")},
		{name: "query too many samples", path: q("sum_over_time(test_gauge[10m:1s])")},
		{name: "query range vector to range query", path: qr("test_gauge[1m]")},
		// Range queries.
		{name: "range basic", path: qr("test_gauge")},
		{name: "range float step", path: qr("rate(test_requests_total[1m])", "step", "45.5")},
		{name: "range rfc3339", path: qr("test_gauge", "start", rfc(base), "end", rfc(end))},
		{name: "range histogram", path: qr("test_histogram")},
		{name: "range scalar", path: qr("time()")},
		{name: "range limit", path: qr("test_gauge", "limit", "2")},
		{name: "range POST", method: http.MethodPost, path: "/api/v1/query_range", form: form("query", "test_gauge", "start", sec(base), "end", sec(end), "step", "1m")},
		{name: "range missing start", path: "/api/v1/query_range?query=1&end=1&step=1"},
		{name: "range bad end", path: qr("1", "end", "x")},
		{name: "range end before start", path: qr("1", "end", sec(base-1000))},
		{name: "range missing step", path: qr("1", "step", "")},
		{name: "range zero step", path: qr("1", "step", "0")},
		{name: "range negative step", path: qr("1", "step", "-15s")},
		{name: "range bad step", path: qr("1", "step", "1x")},
		{name: "range overflow step", path: qr("1", "step", "1e300")},
		{name: "range too many points", path: qr("1", "step", "0.01")},
		{name: "range bad limit", path: qr("1", "limit", "-3")},
		{name: "range too many samples", path: qr("sum_over_time(test_gauge[10m])", "step", "1")},
		{name: "range stats", path: qr("test_gauge", "stats", "true"), norm: dropStatsTimings},
		{name: "range info annotation", path: qr("rate(test_gauge[5m])")},
		{name: "range warning and limit", path: qr("histogram_quantile(0.9, test_requests_total)", "limit", "1")},
		{name: "range lookback", path: qr("test_gauge", "lookback_delta", "10s")},
		{name: "range at modifier", path: qr("test_gauge @ " + sec(mid))},
		{name: "range negative offset", path: qr("test_gauge offset -1m")},
		{name: "range subquery", path: qr("max_over_time(rate(test_requests_total[1m])[2m:])")},
		{name: "range histogram functions", path: qr("histogram_count(test_histogram) + histogram_sum(test_histogram)")},
		{name: "range sum histograms", path: qr("sum(rate(test_histogram[1m]))")},
		// Exemplars.
		{name: "exemplars", path: "/api/v1/query_exemplars?" + url.Values{"query": {"test_requests_total"}, "start": {sec(base)}, "end": {sec(end)}}.Encode()},
		{name: "exemplars no range", path: "/api/v1/query_exemplars?query=test_requests_total"},
		{name: "exemplars none", path: "/api/v1/query_exemplars?query=test_gauge"},
		{name: "exemplars no selector", path: "/api/v1/query_exemplars?query=1"},
		{name: "exemplars parse error", path: "/api/v1/query_exemplars?query=sum("},
		{name: "exemplars end before start", path: "/api/v1/query_exemplars?query=x&start=10&end=5"},
		{name: "exemplars bad start", path: "/api/v1/query_exemplars?query=x&start=x"},
		{name: "exemplars POST", method: http.MethodPost, path: "/api/v1/query_exemplars", form: form("query", "test_requests_total{instance=\"a\"}")},
		// Series.
		{name: "series", path: "/api/v1/series?match[]=test_gauge"},
		{name: "series two matchers", path: "/api/v1/series?match[]=test_gauge&match[]=" + url.QueryEscape(`{job="api"}`)},
		{name: "series range", path: "/api/v1/series?match[]=test_gauge&start=" + sec(base) + "&end=" + sec(end)},
		{name: "series out of range", path: "/api/v1/series?match[]=test_gauge&start=1&end=2"},
		{name: "series limit", path: "/api/v1/series?match[]=test_gauge&limit=1"},
		{name: "series limit exact", path: "/api/v1/series?match[]=test_gauge&limit=3"},
		{name: "series escaping", path: "/api/v1/series?match[]=test_escape"},
		{name: "series utf8", path: "/api/v1/series?match[]=" + url.QueryEscape(`{"test.utf8.name"}`)},
		{name: "series POST", method: http.MethodPost, path: "/api/v1/series", form: form("match[]", "test_requests_total", "match[]", "test_histogram")},
		{name: "series no match", path: "/api/v1/series"},
		{name: "series bad form", method: http.MethodPost, path: "/api/v1/series", raw: "match[]=%zz"},
		{name: "labels bad form", method: http.MethodPost, path: "/api/v1/labels", raw: "match[]=%zz"},
		{name: "query bad form", method: http.MethodPost, path: "/api/v1/query", raw: "query=%zz"},
		{name: "series GET and POST params", method: http.MethodPost, path: "/api/v1/series?match[]=test_gauge", form: form("match[]", "test_histogram")},
		{name: "series empty matcher", path: "/api/v1/series?match[]=" + url.QueryEscape(`{job=""}`)},
		{name: "series bad matcher", path: "/api/v1/series?match[]=" + url.QueryEscape(`{job=`)},
		{name: "series bad limit", path: "/api/v1/series?match[]=x&limit=-1"},
		{name: "series bad end", path: "/api/v1/series?match[]=x&end=x"},
		// Label names and values.
		{name: "labels", path: "/api/v1/labels"},
		{name: "labels match", path: "/api/v1/labels?match[]=test_histogram"},
		{name: "labels two matches", path: "/api/v1/labels?match[]=test_histogram&match[]=" + url.QueryEscape(`{"test.utf8.name"}`)},
		{name: "labels limit", path: "/api/v1/labels?limit=2"},
		{name: "labels range", path: "/api/v1/labels?start=" + sec(base) + "&end=" + sec(end)},
		{name: "labels POST", method: http.MethodPost, path: "/api/v1/labels", form: form("match[]", "test_gauge")},
		{name: "labels bad match", path: "/api/v1/labels?match[]=" + url.QueryEscape(`{job=""}`)},
		{name: "labels bad start", path: "/api/v1/labels?start=x"},
		{name: "label values name", path: "/api/v1/label/__name__/values"},
		{name: "label values job", path: "/api/v1/label/job/values"},
		{name: "label values match", path: "/api/v1/label/instance/values?match[]=test_gauge&match[]=test_requests_total"},
		{name: "label values limit", path: "/api/v1/label/__name__/values?limit=2"},
		{name: "label values escaped utf8", path: "/api/v1/label/U__label_2e_with_2e_dots/values"},
		{name: "label values escaping", path: "/api/v1/label/path/values"},
		{name: "label values unknown", path: "/api/v1/label/nope/values"},
		{name: "label values invalid", path: "/api/v1/label/%ff/values"},
		{name: "label values bad limit", path: "/api/v1/label/job/values?limit=x"},
		{name: "label values POST", method: http.MethodPost, path: "/api/v1/label/job/values", form: form("match[]", "test_gauge")},
		// Targets, metadata, rules (no scrape or rule configuration here).
		{name: "targets", path: "/api/v1/targets"},
		{name: "targets active", path: "/api/v1/targets?state=active"},
		{name: "targets dropped", path: "/api/v1/targets?state=Dropped"},
		{name: "targets metadata", path: "/api/v1/targets/metadata"},
		{name: "targets metadata bad limit", path: "/api/v1/targets/metadata?limit=x"},
		{name: "targets metadata bad match", path: "/api/v1/targets/metadata?match_target=" + url.QueryEscape("{")},
		{name: "metadata", path: "/api/v1/metadata"},
		{name: "metadata bad limit", path: "/api/v1/metadata?limit=x"},
		{name: "metadata bad limit per metric", path: "/api/v1/metadata?limit_per_metric=x"},
		{name: "scrape pools", path: "/api/v1/scrape_pools"},
		{name: "scrape pool config missing", path: "/api/v1/scrape_pools/config"},
		{name: "scrape pool config unknown", path: "/api/v1/scrape_pools/config?scrapePool=nope"},
		{name: "rules", path: "/api/v1/rules"},
		{name: "rules type", path: "/api/v1/rules?type=alert"},
		{name: "rules bad type", path: "/api/v1/rules?type=x"},
		{name: "rules bad exclude", path: "/api/v1/rules?exclude_alerts=x"},
		{name: "rules token without limit", path: "/api/v1/rules?group_next_token=abc"},
		{name: "rules bad limit", path: "/api/v1/rules?group_limit=x"},
		{name: "rules zero limit", path: "/api/v1/rules?group_limit=0"},
		{name: "rules unknown token", path: "/api/v1/rules?group_limit=1&group_next_token=abc"},
		{name: "rules bad match", path: "/api/v1/rules?match[]=" + url.QueryEscape("{")},
		{name: "alerts", path: "/api/v1/alerts"},
		{name: "alertmanagers", path: "/api/v1/alertmanagers"},
		// Format and parse.
		{name: "format query", path: "/api/v1/format_query?query=" + url.QueryEscape(`sum by(job)(rate(x{a="b"}[5m] offset 1m))/on(job)group_left y`)},
		{name: "format query error", path: "/api/v1/format_query?query=" + url.QueryEscape("sum(")},
		{name: "format query POST", method: http.MethodPost, path: "/api/v1/format_query", form: form("query", "a+b")},
		{name: "parse query", path: "/api/v1/parse_query?query=" + url.QueryEscape(`sum without(a)(rate(x{a=~"b"}[5m] @ start() offset -1m)) / on(job) group_left(c) -y[10m:1m] or vector(1) > bool 2 and "s" == 1`)},
		{name: "parse query subquery", path: "/api/v1/parse_query?query=" + url.QueryEscape(`topk(3, max_over_time(x[1h:5m] @ 100 offset 5m))`)},
		{name: "parse query error", path: "/api/v1/parse_query?query=" + url.QueryEscape(")")},
		// Status.
		{name: "status config", path: "/api/v1/status/config"},
		{name: "status buildinfo", path: "/api/v1/status/buildinfo", norm: blankFields("version", "revision", "branch", "buildUser", "buildDate", "goVersion")},
		{name: "status tsdb all", path: "/api/v1/status/tsdb?limit=100", norm: sortTSDBStats},
		{name: "status tsdb default limit", path: "/api/v1/status/tsdb", norm: cutTSDBStats},
		{name: "status tsdb limit", path: "/api/v1/status/tsdb?limit=2", norm: cutTSDBStats},
		{name: "status tsdb bad limit", path: "/api/v1/status/tsdb?limit=0"},
		{name: "status tsdb huge limit", path: "/api/v1/status/tsdb?limit=10001"},
		{name: "status walreplay", path: "/api/v1/status/walreplay"},
		{name: "status runtimeinfo", path: "/api/v1/status/runtimeinfo", norm: blankFields("startTime", "CWD", "hostname", "serverTime", "reloadConfigSuccess", "lastConfigTime", "corruptionCount", "goroutineCount", "GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG", "storageRetention")},
		{name: "status self metrics bad pattern", path: "/api/v1/status/self_metrics?metric_name_pattern=("},
		{name: "status tsdb blocks", path: "/api/v1/status/tsdb/blocks"},
		{name: "notifications", path: "/api/v1/notifications"},
		{name: "relabel steps without targets", path: "/api/v1/targets/relabel_steps?scrapePool=x&labels=%7B%7D"},
		// Routing.
		{name: "unknown path", path: "/api/v1/nope"},
		{name: "unknown nested path", path: "/api/v1/status/nope"},
		{name: "label without values", path: "/api/v1/label/job"},
		{name: "method not allowed", method: http.MethodPut, path: "/api/v1/query"},
		{name: "POST on GET-only", method: http.MethodPost, path: "/api/v1/targets", form: form()},
		{name: "DELETE series", method: http.MethodDelete, path: "/api/v1/series"},
		{name: "options", method: http.MethodOptions, path: "/api/v1/query"},
		{name: "options unknown", method: http.MethodOptions, path: "/api/v1/nope"},
		{name: "options with origin", method: http.MethodOptions, path: "/api/v1/query", header: http.Header{"Origin": {"http://example.com"}}},
		{name: "CORS on GET", path: q("1"), header: http.Header{"Origin": {"http://example.com"}}},
		{name: "trailing slash", path: "/api/v1/query/?query=1"},
		{name: "api root", path: "/api/v1/"},
		{name: "wrong case", path: "/api/v1/Query?query=1"},
		{name: "HEAD query", method: http.MethodHead, path: q("1")},
		{name: "GET write", path: "/api/v1/write"},
		{name: "label values empty name", path: "/api/v1/label//values"},
		{name: "label values trailing slash", path: "/api/v1/label/job/values/"},
		{name: "label values wrong case", path: "/api/v1/LABEL/job/Values"},
		{name: "trailing slash POST", method: http.MethodPost, path: "/api/v1/series/", form: form("match[]", "x")},
		{name: "trailing slash GET-only POST", method: http.MethodPost, path: "/api/v1/targets/", form: form()},
		{name: "trailing slash DELETE", method: http.MethodDelete, path: "/api/v1/series/"},
		{name: "dot segments", path: "/api/v1/status/../query?query=1"},
		{name: "admin delete series", method: http.MethodPost, path: "/api/v1/admin/tsdb/delete_series", form: form("match[]", "x")},
		{name: "admin snapshot PUT", method: http.MethodPut, path: "/api/v1/admin/tsdb/snapshot"},
		{name: "admin GET", path: "/api/v1/admin/tsdb/snapshot"},
		{name: "admin wrong case PUT", method: http.MethodPut, path: "/api/v1/admin/tsdb/Snapshot"},
		{name: "search disabled", path: "/api/v1/search/metric_names?search=x"},
		{name: "search disabled POST", method: http.MethodPost, path: "/api/v1/search/label_values", form: form("label", "job")},
		{name: "query_cost disabled", path: "/api/v1/query_cost?query=1"},
		{name: "otlp disabled", method: http.MethodPost, path: "/api/v1/otlp/v1/metrics", form: form()},
		{name: "query default time", path: "/api/v1/query?query=test_gauge"},
		{name: "gzip", path: q("test_gauge"), header: http.Header{"Accept-Encoding": {"gzip"}}},
		{name: "accept protobuf", path: q("test_gauge"), header: http.Header{"Accept": {"application/vnd.google.protobuf"}}},
	}
	for i := range cases {
		if cases[i].name == "" {
			panic(fmt.Sprintf("case %d has no name", i))
		}
	}
	return cases
}
