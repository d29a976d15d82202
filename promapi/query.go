package promapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/httputil"
	"github.com/prometheus/prometheus/util/stats"
)

// maxPointsPerSeries bounds (end-start)/step of a range query.
const maxPointsPerSeries = 11000

// queryData is the payload of /query and /query_range.
type queryData struct {
	resultType parser.ValueType
	result     parser.Value
	stats      stats.QueryStats // nil unless the stats parameter is set
	cost       *costComparison  // nil unless cost=true (query-cost feature)
}

func (d *queryData) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"resultType":`...)
	dst = appendString(dst, string(d.resultType))
	dst = append(dst, `,"result":`...)
	dst = appendValue(dst, d.result)
	if d.stats != nil {
		if b, err := jsonAPI.Marshal(d.stats); err == nil {
			dst = append(dst, `,"stats":`...)
			dst = append(dst, b...)
		}
	}
	if d.cost != nil {
		dst = append(dst, `,"cost":`...)
		dst = d.cost.appendJSON(dst)
	}
	return append(dst, '}')
}

func (a *API) query(r *http.Request) (res result) {
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return result{err: invalidParam(err, "limit")}
	}
	ts, err := timeParam(r, "time", a.now())
	if err != nil {
		return result{err: invalidParam(err, "time")}
	}
	ctx, cancel, opts, apiErr := a.queryContext(r, true)
	if apiErr != nil {
		return result{err: apiErr}
	}
	defer cancel()
	costOn, err := a.costRequested(r)
	if err != nil {
		return result{err: invalidParam(err, "cost")}
	}
	st, apiErr := a.tenantStorage(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	if a.opts.Engine == nil {
		return result{err: errNoEngine}
	}
	// The query's duration limit starts while it is built.
	limitStart := time.Now()
	qry, err := a.opts.Engine.NewInstantQuery(ctx, st, opts, r.FormValue("query"), ts)
	if err != nil {
		return result{err: constructionError(err)}
	}
	var cost *pendingCost
	if costOn {
		e, annos, err := a.estimateCost(ctx, st, limitStart, r.FormValue("query"), ts, ts, 0, opts)
		cost = &pendingCost{e, annos, err}
	}
	return a.execQuery(ctx, r, qry, limit, cost)
}

func (a *API) queryRange(r *http.Request) (res result) {
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return result{err: invalidParam(err, "limit")}
	}
	start, end, step, apiErr := rangeParams(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	ctx, cancel, opts, apiErr := a.queryContext(r, false)
	if apiErr != nil {
		return result{err: apiErr}
	}
	defer cancel()
	costOn, err := a.costRequested(r)
	if err != nil {
		return result{err: invalidParam(err, "cost")}
	}
	st, apiErr := a.tenantStorage(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	if a.opts.Engine == nil {
		return result{err: errNoEngine}
	}
	limitStart := time.Now()
	qry, err := a.opts.Engine.NewRangeQuery(ctx, st, opts, r.FormValue("query"), start, end, step)
	if err != nil {
		return result{err: constructionError(err)}
	}
	var cost *pendingCost
	if costOn {
		e, annos, err := a.estimateCost(ctx, st, limitStart, r.FormValue("query"), start, end, step, opts)
		cost = &pendingCost{e, annos, err}
	}
	return a.execQuery(ctx, r, qry, limit, cost)
}

var errNoEngine = &apiError{errorInternal, errorString("no query engine configured")}

// execQuery runs a built query and shapes its result; the query is closed
// after the response is written (its result memory is pooled by the engine).
// cost, when cost=true asked for it, is the estimate made before it ran.
func (a *API) execQuery(ctx context.Context, r *http.Request, qry promql.Query, limit int, cost *pendingCost) result {
	ctx = httputil.ContextFromRequest(ctx, r)
	res := qry.Exec(ctx)
	if res.Err != nil {
		return result{err: classify(res.Err), warnings: res.Warnings, finalizer: qry.Close}
	}
	warnings := res.Warnings
	if limit > 0 && truncate(res, limit) {
		warnings = warnings.Add(errors.New("results truncated due to limit"))
	}
	statsParam := r.FormValue("stats")
	if w := statsParamWarning(statsParam); w != nil {
		warnings = warnings.Add(w)
	}
	var qs stats.QueryStats
	if statsParam != "" {
		qs = stats.NewQueryStats(qry.Stats())
	}
	var cmp *costComparison
	if cost != nil {
		cmp, warnings = cost.finish(qry, warnings)
	}
	return result{
		data:      &queryData{resultType: res.Value.Type(), result: res.Value, stats: qs, cost: cmp},
		warnings:  warnings,
		finalizer: qry.Close,
	}
}

// truncate cuts a vector or matrix result to limit series.
func truncate(res *promql.Result, limit int) bool {
	switch v := res.Value.(type) {
	case promql.Vector:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	case promql.Matrix:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	}
	return false
}

// statsParamWarning flags stats values other than "", "true" and "all".
func statsParamWarning(s string) error {
	switch s {
	case "", "true", "all":
		return nil
	}
	return fmt.Errorf("value %q for parameter \"stats\" is deprecated and will be rejected in the next major release, use %q or %q", s, "true", "all")
}

// queryContext is the preamble /query, /query_range and their cost
// endpoints share: the query's context, bounded by the request's timeout
// parameter, and its query options. Prometheus's instant query sets a
// deadline from its clock (api.now), its range query a timeout (instant
// says which); both are kept, as a test's clock may differ from the wall's.
func (a *API) queryContext(r *http.Request, instant bool) (context.Context, context.CancelFunc, promql.QueryOpts, *apiError) {
	ctx := r.Context()
	timeout, apiErr := queryTimeout(r)
	if apiErr != nil {
		return ctx, func() {}, nil, apiErr
	}
	cancel := context.CancelFunc(func() {})
	if timeout > 0 {
		if instant {
			ctx, cancel = context.WithDeadline(ctx, a.now().Add(timeout))
		} else {
			ctx, cancel = context.WithTimeout(ctx, timeout)
		}
	}
	opts, err := a.queryOpts(r)
	if err != nil {
		cancel()
		return ctx, func() {}, nil, badData(err)
	}
	return ctx, cancel, opts, nil
}

// queryTimeout parses the optional timeout parameter, which must be positive.
func queryTimeout(r *http.Request) (time.Duration, *apiError) {
	v := r.FormValue("timeout")
	if v == "" {
		return 0, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return 0, invalidParam(err, "timeout")
	}
	if d <= 0 {
		return 0, invalidParam(fmt.Errorf("timeout must be positive, got %s", d), "timeout")
	}
	return d, nil
}

func (a *API) queryExemplars(r *http.Request) result {
	start, err := timeParam(r, "start", minTime)
	if err != nil {
		return result{err: invalidParam(err, "start")}
	}
	end, err := timeParam(r, "end", maxTime)
	if err != nil {
		return result{err: invalidParam(err, "end")}
	}
	if end.Before(start) {
		return result{err: badData(errors.New("end timestamp must not be before start timestamp"))}
	}
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return result{err: badData(err)}
	}
	selectors := parser.ExtractSelectors(expr)
	if len(selectors) == 0 {
		return result{}
	}
	st, apiErr := a.tenantStorage(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	eq, err := st.ExemplarQuerier(r.Context())
	if err != nil {
		return result{err: classify(err)}
	}
	res, err := eq.Select(timestamp.FromTime(start), timestamp.FromTime(end), selectors...)
	if err != nil {
		return result{err: classify(err)}
	}
	return result{data: exemplarResults(res)}
}

func (a *API) formatQuery(r *http.Request) result {
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return result{err: invalidParam(err, "query")}
	}
	return result{data: expr.Pretty(0)}
}

func (a *API) parseQuery(r *http.Request) result {
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return result{err: invalidParam(err, "query")}
	}
	return result{data: astJSON(expr)}
}

// rangeParams parses and checks a range query's start, end and step, in
// Prometheus's order and with its messages (/query_range and
// /query_range_cost).
func rangeParams(r *http.Request) (start, end time.Time, step time.Duration, _ *apiError) {
	start, err := parseTime(r.FormValue("start"))
	if err != nil {
		return start, end, step, invalidParam(err, "start")
	}
	end, err = parseTime(r.FormValue("end"))
	if err != nil {
		return start, end, step, invalidParam(err, "end")
	}
	if end.Before(start) {
		return start, end, step, invalidParam(errors.New("end timestamp must not be before start time"), "end")
	}
	step, err = parseDuration(r.FormValue("step"))
	if err != nil {
		return start, end, step, invalidParam(err, "step")
	}
	if step <= 0 {
		return start, end, step, invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step")
	}
	if end.Sub(start)/step > maxPointsPerSeries {
		return start, end, step, badData(errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))
	}
	return start, end, step, nil
}
