package promapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/teststorage"
)

// queryCostConfig sets the query-cost ceilings the cases run into: the
// data set has 3 test_gauge series and 9 series with a job label.
const queryCostConfig = `global:
  scrape_interval: 15s
  evaluation_interval: 1m
  query_max_series: 5
  query_max_samples_read: 200
  query_max_duration: 1m
`

// withQueryCost builds the engine as the binary does with
// --enable-feature=query-cost: EnableQueryCost, and the config's limits set
// as the query_engine reloader sets them.
func withQueryCost(on bool) func(*Options, *teststorage.TestStorage) {
	return func(o *Options, _ *teststorage.TestStorage) {
		cfg := o.Config()
		engine := promql.NewEngine(promql.EngineOpts{
			MaxSamples:               refMaxSamples,
			Timeout:                  2 * time.Minute,
			LookbackDelta:            5 * time.Minute,
			NoStepSubqueryIntervalFn: func(int64) int64 { return time.Duration(cfg.GlobalConfig.EvaluationInterval).Milliseconds() },
			EnableAtModifier:         true,
			EnableNegativeOffset:     true,
			EnableQueryCost:          on,
		})
		if on {
			engine.SetQueryLimits(cfg.GlobalConfig.QueryMaxSeries, cfg.GlobalConfig.QueryMaxSamplesRead, time.Duration(cfg.GlobalConfig.QueryMaxDuration))
		}
		o.Engine = engine
		o.EnableQueryCost = on
		o.QueryTimeout = 2 * time.Minute // the reference's default --query.timeout
		o.LookbackDelta = 5 * time.Minute
	}
}

// TestQueryCostAsPrometheus compares the query-cost feature with the real
// Prometheus started with --enable-feature=query-cost and the same ceilings
// (the estimates come from the same data in the same TSDB, so they must
// be equal), and both without the feature, where the endpoints are 404 and
// the overrides and cost=true are ignored.
func TestQueryCostAsPrometheus(t *testing.T) {
	base := dataBase()
	set := testDataSet(base)
	for _, on := range []bool{true, false} {
		name := "feature off"
		var flags []string
		if on {
			name, flags = "feature on", []string{"--enable-feature=query-cost"}
		}
		t.Run(name, func(t *testing.T) {
			ref := startPrometheus(t, queryCostConfig, flags...)
			api, _ := newTestAPI(t, ref.ConfigFile, withQueryCost(on))
			mux := http.NewServeMux()
			mux.Handle("/api/v1/", api.Handler())
			ours := httptest.NewServer(mux)
			defer ours.Close()
			remoteWrite(t, ref.URL, writeRequest(set, base))
			remoteWrite(t, ours.URL, writeRequest(set, base))
			for _, c := range queryCostCases(base) {
				t.Run(c.name, func(t *testing.T) {
					want := do(t, ref.URL, c.apiCase)
					got := do(t, ours.URL, c.apiCase)
					compareAnswers(t, c.apiCase, want, got)
					if on && c.wantCode != 0 && want.code != c.wantCode {
						// The case no longer tests what it says (the
						// reference's answer moved): fail, do not pass
						// on two equal but unintended answers.
						t.Errorf("prometheus answered %d, the case expects %d: %s", want.code, c.wantCode, want.body)
					}
				})
			}
		})
	}
}

// costCase is an apiCase with the status the reference is expected to give
// with the feature on (0: not checked), so that a case which stops
// exercising its path is noticed.
type costCase struct {
	apiCase
	wantCode int
}

func queryCostCases(base int64) []costCase {
	mid := base + 20*dataStepMs
	end := base + (dataPoints-1)*dataStepMs
	instant := func(path, query string, extra ...string) string {
		v := url.Values{"query": {query}, "time": {sec(mid)}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return "/api/v1/" + path + "?" + v.Encode()
	}
	ranged := func(path, query string, extra ...string) string {
		v := url.Values{"query": {query}, "start": {sec(base)}, "end": {sec(end)}, "step": {"30s"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return "/api/v1/" + path + "?" + v.Encode()
	}
	c := func(name, path string, code int) costCase {
		return costCase{apiCase{name: name, path: path}, code}
	}
	withNorm := func(cc costCase, norm func(any) any) costCase { cc.norm = norm; return cc }
	return []costCase{
		// The estimate endpoints.
		c("cost vector", instant("query_cost", "test_gauge"), 200),
		c("cost rate", instant("query_cost", `rate(test_requests_total[5m])`), 200),
		c("cost histogram", instant("query_cost", "test_histogram"), 200),
		c("cost subquery", instant("query_cost", `max_over_time(test_gauge[5m:30s])`), 200),
		c("cost no series", instant("query_cost", "nothing_here"), 200),
		c("cost scalar", instant("query_cost", "1+1"), 200),
		c("range cost", ranged("query_range_cost", `sum by (job) (rate(test_requests_total[1m]))`), 200),
		c("range cost vector", ranged("query_range_cost", "test_gauge"), 200),
		{apiCase{name: "cost POST", method: http.MethodPost, path: "/api/v1/query_cost",
			form: url.Values{"query": {"test_gauge"}, "time": {sec(mid)}}}, 200},
		{apiCase{name: "range cost POST", method: http.MethodPost, path: "/api/v1/query_range_cost",
			form: url.Values{"query": {"test_gauge"}, "start": {sec(base)}, "end": {sec(end)}, "step": {"1m"}}}, 200},
		{apiCase{name: "cost PUT", method: http.MethodPut, path: instant("query_cost", "test_gauge")}, 405},
		c("cost bad query", instant("query_cost", "sum("), 400),
		c("cost no query", "/api/v1/query_cost", 400),
		c("range cost matrix", ranged("query_range_cost", "test_gauge[1m]"), 400),
		c("range cost no step", "/api/v1/query_range_cost?query=up&start=1&end=2", 400),
		c("cost bad cost", instant("query_cost", "test_gauge", "cost", "maybe"), 400),
		c("cost bad limit", instant("query_cost", "test_gauge", "limit", "-1"), 400),
		c("cost stats deprecated", instant("query_cost", "test_gauge", "stats", "yes"), 200),
		c("cost bad time", "/api/v1/query_cost?query=up&time=x", 400),

		// Per-query overrides: at or below the ceiling, above it, unparsable.
		c("override at ceiling", instant("query", "test_gauge", "max_series", "5"), 200),
		c("override series above", instant("query", "test_gauge", "max_series", "6"), 400),
		c("override samples above", instant("query", "test_gauge", "max_samples_read", "201"), 400),
		c("override duration above", instant("query", "test_gauge", "max_query_duration", "2m"), 400),
		c("override duration negative", instant("query", "test_gauge", "max_query_duration", "-1s"), 400),
		c("override series unparsable", instant("query", "test_gauge", "max_series", "many"), 400),
		c("override samples unparsable", instant("query", "test_gauge", "max_samples_read", "-3"), 400),
		c("range override above", ranged("query_range", "test_gauge", "max_series", "100"), 400),
		c("cost override above", instant("query_cost", "test_gauge", "max_series", "100"), 400),
		c("range cost override above", ranged("query_range_cost", "test_gauge", "max_query_duration", "5m"), 400),

		// The engine enforces the ceilings and the lowered limits.
		c("exceeds max_series", instant("query", `{job=~".+"}`), 422),
		c("range exceeds max_series", ranged("query_range", `count({job=~".+"})`), 422),
		c("exceeds lowered max_series", instant("query", "test_gauge", "max_series", "2"), 422),
		c("exceeds max_samples_read", instant("query", `rate(test_requests_total[10m])`, "max_samples_read", "10"), 422),
		c("exceeds ceiling max_samples_read", instant("query", `sum_over_time(test_requests_total[10m:1s])`), 422),
		c("range exceeds max_samples_read", ranged("query_range", `sum(rate(test_requests_total[10m:5s]))`), 422),
		c("range exceeds lowered max_samples_read", ranged("query_range", `sum(rate(test_requests_total[5m]))`, "max_samples_read", "50"), 422),
		c("cost of a query over the ceiling", instant("query_cost", `sum_over_time(test_requests_total[10m:1s])`), 200),

		// cost=true adds the estimated and actual cost.
		c("query cost=true", instant("query", `rate(test_requests_total[5m])`, "cost", "true"), 200),
		c("query cost=1 histogram", instant("query", "test_histogram", "cost", "1"), 200),
		c("query cost=false", instant("query", "test_gauge", "cost", "false"), 200),
		c("query cost bad", instant("query", "test_gauge", "cost", "yes please"), 400),
		c("range cost=true", ranged("query_range", `sum(rate(test_requests_total[1m]))`, "cost", "true"), 200),
		withNorm(c("query cost and stats", instant("query", "test_gauge", "cost", "true", "stats", "true"), 200), dropStatsTimings),
		c("query cost=true limit", instant("query", "test_gauge", "cost", "true", "limit", "1"), 200),
	}
}
