package promapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/promql"
)

// FuzzQueryCostOverrides checks the per-query limit parameters against the
// engine, which applies the same ceilings when it builds a query: what
// queryOpts accepts the engine builds, and what it refuses above a ceiling
// the engine refuses with the same error (so the cost endpoints, which
// never build a query, refuse what /query refuses).
func FuzzQueryCostOverrides(f *testing.F) {
	f.Add("5", "200", "1m", uint64(5), uint64(200), int64(60), int64(120))
	f.Add("6", "", "", uint64(5), uint64(0), int64(0), int64(120))
	f.Add("", "201", "", uint64(0), uint64(200), int64(0), int64(120))
	f.Add("", "", "3m", uint64(0), uint64(0), int64(0), int64(120))
	f.Add("", "", "90s", uint64(0), uint64(0), int64(60), int64(30))
	f.Add("0", "0", "0s", uint64(0), uint64(62), int64(0), int64(1))
	f.Add("18446744073709551615", "x", "-1s", uint64(1), uint64(1), int64(1), int64(1))
	f.Add("1e3", "+3", "1.5", uint64(0), uint64(0), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, maxSeries, maxSamples, maxDuration string, ceilSeries, ceilSamples uint64, ceilSeconds, timeoutSeconds int64) {
		if ceilSeconds < 0 || ceilSeconds > 1e6 || timeoutSeconds < 1 || timeoutSeconds > 1e6 { // --query.timeout is positive
			return
		}
		ceilDuration, timeout := time.Duration(ceilSeconds)*time.Second, time.Duration(timeoutSeconds)*time.Second
		form := url.Values{"max_series": {maxSeries}, "max_samples_read": {maxSamples}, "max_query_duration": {maxDuration}}
		req := httptest.NewRequest("GET", "/api/v1/query?"+form.Encode(), nil)
		limited := costAPI(ceilSeries, ceilSamples, ceilDuration, timeout)
		opts, err := limited.queryOpts(req)
		var above promql.ErrLimitAboveCeiling
		if err != nil && !errors.As(err, &above) {
			return // a parameter that does not parse: the engine never sees it
		}
		engine := promql.NewEngine(promql.EngineOpts{Timeout: timeout, MaxSamples: 1, EnableQueryCost: true})
		engine.SetQueryLimits(ceilSeries, ceilSamples, ceilDuration)
		if err == nil {
			q, qerr := engine.NewInstantQuery(context.Background(), nil, opts, "1", time.Unix(0, 0))
			if qerr != nil {
				t.Fatalf("queryOpts accepted %v, the engine refused it: %v", form, qerr)
			}
			q.Close()
			return
		}
		// The same parameters without ceilings, handed to the engine.
		unlimited, uerr := costAPI(0, 0, 0, 0).queryOpts(httptest.NewRequest("GET", "/api/v1/query?"+form.Encode(), nil))
		if uerr != nil {
			t.Fatalf("without ceilings %v fails: %v", form, uerr)
		}
		_, qerr := engine.NewInstantQuery(context.Background(), nil, unlimited, "1", time.Unix(0, 0))
		if qerr == nil || qerr.Error() != err.Error() {
			t.Fatalf("%v: queryOpts refused with %q, the engine with %v", form, err, qerr)
		}
	})
}

// costAPI is an API with the query-cost feature, the given config ceilings
// and --query.timeout.
func costAPI(series, samples uint64, duration, timeout time.Duration) *API {
	cfg := config.DefaultConfig
	cfg.GlobalConfig.QueryMaxSeries = series
	cfg.GlobalConfig.QueryMaxSamplesRead = samples
	cfg.GlobalConfig.QueryMaxDuration = model.Duration(duration)
	return New(Options{EnableQueryCost: true, Config: func() config.Config { return cfg }, QueryTimeout: timeout})
}
