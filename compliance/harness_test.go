package compliance

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"mytsdb/compliance/corpus"
)

// TestHarnessPrometheusVsPrometheus runs the quick subset with the real
// prometheus on both sides: every case must pass, which proves the data, the
// corpus and the exemptions deterministic. Then it breaks the candidate side
// on purpose, through an in-process reverse proxy, and checks that each
// breakage is reported.
func TestHarnessPrometheusVsPrometheus(t *testing.T) {
	env := startEnv(t, "prometheus")
	ctx := context.Background()
	cases := quickCorpus(t)
	fresh := env.Fresh(ctx, env.Ref.URL, env.Cand.URL)
	read := env.RemoteRead(ctx, env.Ref.URL, env.Cand.URL)
	rules := env.Rules(ctx, env.Ref.URL, env.Cand.URL)
	outs := append(RunCases(ctx, env.Ref.URL, env.Cand.URL, env.Base, cases), fresh...)
	requireAllPass(t, append(append(outs, read...), rules...))
	requireFreshData(t, fresh)
	requireRemoteReadData(t, read)
	requireRulesData(t, rules)

	probe := func(t *testing.T, line string) corpus.Case {
		t.Helper()
		cs, err := corpus.Parse(strings.NewReader(line))
		if err != nil || len(cs) != 1 {
			t.Fatalf("parse %q: %v", line, err)
		}
		return cs[0]
	}
	breakers := []struct {
		name string
		line string // a case the breakage must be caught on
		brk  func(status int, body []byte) (int, []byte)
	}{
		{"identity re-encoding (control: must pass)", `instant +20m cmp_requests_total{instance="host-1"}`, reencode(false)},
		{"reversed series order", `instant +20m cmp_requests_total{instance="host-1"}`, reencode(true)},
		{"reversed matrix order", `range +0m +45m 5m cmp_temperature_celsius{instance="host-0"}`, reencode(true)},
		{"last bit of one value", `instant +30m rate(cmp_requests_total{instance="host-0"}[5m])`, flipLastBit},
		{"last bit of one value in a range query", `range +0m +45m 5m rate(cmp_requests_total{instance="host-0"}[5m])`, flipLastBit},
		{"one label dropped", `instant +20m cmp_requests_total{instance="host-1"}`, replaceOnce(`"code":"200",`, ``)},
		{"errorType changed", `instant +30m sum(`, replaceOnce(`"bad_data"`, `"execution"`)},
		{"status code changed", `instant +30m sum(`, func(_ int, b []byte) (int, []byte) { return 422, b }},
		{"resultType changed", `instant +30m 1`, replaceOnce(`"scalar"`, `"vector"`)},
		{"NaN turned into a number", `instant +30m cmp_special{kind="nan"}`, replaceOnce(`"NaN"`, `"0"`)},
		{"empty result", `instant +30m cmp_many{group="g1"}`, regexpOnce(`"result":\[.*\]`, `"result":[]`)},
	}
	for _, b := range breakers {
		t.Run(b.name, func(t *testing.T) {
			proxy := breakingProxy(t, env.Cand.URL, b.brk)
			c := probe(t, b.line)
			outs := RunCases(ctx, env.Ref.URL, proxy, env.Base, []corpus.Case{c})
			caught := !outs[0].Result.OK
			if strings.HasPrefix(b.name, "identity") {
				if caught {
					t.Fatalf("control failed: %s\n%s", outs[0].Result.Reason, outs[0].Result.SideBySide(60))
				}
				return
			}
			if !caught {
				t.Fatalf("breakage %q not detected on %s", b.name, b.line)
			}
			t.Logf("detected: %s", outs[0].Result.Reason)
		})
	}
}

// TestHarnessPrometheusVsPrometheusBlocks runs the quick subset in the
// short-block mode with the real prometheus on both sides: every case must
// pass, which proves that mode's layout, waits and exemptions deterministic.
func TestHarnessPrometheusVsPrometheusBlocks(t *testing.T) {
	t.Parallel()
	env := startBlocksEnv(t, "prometheus")
	requireAllPass(t, RunCasesMode(context.Background(), env.Ref.URL, env.Cand.URL, env.Base, quickCorpus(t), true))
}

// breakingProxy serves the candidate through a reverse proxy that passes
// /api/v1/query and /api/v1/query_range answers through brk.
func breakingProxy(t *testing.T, target string, brk func(int, []byte) (int, []byte)) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	direct := rp.Director
	rp.Director = func(r *http.Request) {
		direct(r)
		r.Header.Del("Accept-Encoding") // bodies must reach ModifyResponse uncompressed
	}
	rp.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasPrefix(resp.Request.URL.Path, "/api/v1/query") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.StatusCode, body = brk(resp.StatusCode, body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// reencode decodes a success envelope and writes it back in Prometheus's
// key order, optionally reversing the result's series.
func reencode(reverse bool) func(int, []byte) (int, []byte) {
	return func(status int, b []byte) (int, []byte) {
		var env struct {
			Status string `json:"status"`
			Data   struct {
				ResultType string            `json:"resultType"`
				Result     []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		if json.Unmarshal(b, &env) != nil {
			return status, b
		}
		if reverse {
			r := env.Data.Result
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
		}
		out, err := json.Marshal(env)
		if err != nil {
			return status, b
		}
		return status, out
	}
}

var firstValue = regexp.MustCompile(`\[[0-9.]+,"([-+0-9.e]+)"\]`)

// flipLastBit flips the lowest mantissa bit of the first sample value.
func flipLastBit(status int, b []byte) (int, []byte) {
	loc := firstValue.FindSubmatchIndex(b)
	if loc == nil {
		return status, b
	}
	v, err := strconv.ParseFloat(string(b[loc[2]:loc[3]]), 64)
	if err != nil {
		return status, b
	}
	flipped := strconv.FormatFloat(math.Float64frombits(math.Float64bits(v)^1), 'f', -1, 64)
	out := append(append(append([]byte(nil), b[:loc[2]]...), flipped...), b[loc[3]:]...)
	return status, out
}

func replaceOnce(old, new string) func(int, []byte) (int, []byte) {
	return func(status int, b []byte) (int, []byte) {
		return status, bytes.Replace(b, []byte(old), []byte(new), 1)
	}
}

func regexpOnce(re, repl string) func(int, []byte) (int, []byte) {
	r := regexp.MustCompile(re)
	return func(status int, b []byte) (int, []byte) {
		return status, r.ReplaceAll(b, []byte(repl))
	}
}

// requireFreshData checks that the fresh phase compared answers holding its
// data, not two empty ones.
func requireFreshData(t *testing.T, outs []Outcome) {
	t.Helper()
	want := map[string][]string{
		"fresh: remote write":                                        {"HTTP 204"},
		"fresh: otlp protobuf round 0":                               {"HTTP 200"},
		"fresh: otlp garbage json":                                   {"HTTP 400"},
		"fresh: series {__name__=~\"otlp_.+\"}":                      {"otlp_jobs_total", "otlp_wait_seconds_bucket", "otlp_size_bytes", "otlp_queue_depth_ratio"},
		"fresh: samples target_info":                                 {"cloud_region"},
		"fresh: exemplars otlp_jobs_total":                           {"trace_id", "span_id"},
		"fresh: exemplars fresh_requests_total":                      {"t-2", "s-9"},
		"fresh: federate Accept=text/plain":                          {"fresh_requests_total{", "otlp_wait_seconds_bucket{", "fresh_mixed{"},
		"fresh: federate match%5B%5D=%7Bjob%3D":                      {"HTTP 400"},
		"fresh: otlp out of order (round 1 again with other values)": {"HTTP 400"},
	}
	seen := map[string]bool{}
	for _, o := range outs {
		for name, subs := range want {
			if o.Name != name {
				continue
			}
			seen[name] = true
			for _, sub := range subs {
				if !strings.Contains(o.Result.Ref, sub) {
					t.Errorf("%s: the reference's answer lacks %q:\n%.1500s", o.Name, sub, o.Result.Ref)
				}
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("no fresh case named %s", name)
		}
	}
	for _, o := range outs {
		if strings.Contains(o.Name, "federate Accept=text/plain") && strings.Contains(o.Result.Ref, "fresh_old") || strings.Contains(o.Result.Ref, `instance="gone"`) {
			t.Errorf("%s: a sample past the lookback delta or stale was federated:\n%s", o.Name, o.Result.Ref)
		}
	}
}

// requireRemoteReadData checks that the remote-read cases compared answers
// holding data (and the errors Prometheus gives), not two empty ones.
func requireRemoteReadData(t *testing.T, outs []Outcome) {
	t.Helper()
	requireRefHas(t, outs, map[string][]string{
		"remote read: sampled counter":                    {"HTTP 200", "cmp_requests_total", "host-1"},
		"remote read: streamed counter":                   {"HTTP 200", "x-streamed-protobuf", "cmp_requests_total", "chunks"},
		"remote read: sampled native histograms":          {"cmp_native_hist", "histograms"},
		"remote read: streamed native histograms":         {"cmp_native_hist", "chunks"},
		"remote read: sampled specials (NaN, Inf, stale)": {"value:nan", "value:inf", "value:-inf"},
		"remote read: sampled bad regexp":                 {"HTTP 500", "error parsing regexp"},
		"remote read: not snappy":                         {"HTTP 400"},
	})
}

// requireRulesData checks that the rules phase saw the alert fire and
// resolve and the recording rules write, on the reference.
func requireRulesData(t *testing.T, outs []Outcome) {
	t.Helper()
	requireRefHas(t, outs, map[string][]string{
		"rules: firing /api/v1/alerts":                                             {`"ToggleOn"`, `"firing"`, `"FlakyDown"`, `"AlwaysPending"`, `"pending"`, "toggle a is 1"},
		"rules: firing query ALERTS":                                               {`"alertstate":"firing"`, `"ToggleOn"`},
		"rules: firing query job:fixture_requests:sum":                             {`"job":"fixture"`},
		"rules: resolved /api/v1/rules?type=alert":                                 {`"ToggleOn"`, `"inactive"`, `"FlakyDown"`},
		"rules: firing /api/v1/rules?rule_name%5B%5D=ToggleOn&rule_name%5B%5D=two": {`"ToggleOn"`, `"two"`},
	})
	for _, o := range outs {
		if o.Name == "rules: resolved /api/v1/alerts" && strings.Contains(o.Result.Ref, "ToggleOn") {
			t.Errorf("%s: the toggle's alert did not resolve:\n%s", o.Name, o.Result.Ref)
		}
	}
}

// requireRefHas checks that each named outcome exists and that the
// reference's rendering holds every substring given for it.
func requireRefHas(t *testing.T, outs []Outcome, want map[string][]string) {
	t.Helper()
	seen := map[string]bool{}
	for _, o := range outs {
		subs, ok := want[o.Name]
		if !ok {
			continue
		}
		seen[o.Name] = true
		for _, sub := range subs {
			if !strings.Contains(o.Result.Ref, sub) {
				t.Errorf("%s: the reference's answer lacks %q:\n%.1500s", o.Name, sub, o.Result.Ref)
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("no case named %s", name)
		}
	}
}
