package promapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// This file is the API side of --enable-feature=query-cost (Options.
// EnableQueryCost), as Prometheus 3.16's web/api/v1 has it: the
// /query_cost and /query_range_cost endpoints, the per-query limit
// overrides max_series, max_samples_read and max_query_duration (which may
// only lower the ceilings of the config's global.query_max_* settings), and
// cost=true on /query and /query_range, which adds the estimated and the
// actual cost to the result. The estimate is upstream's
// promql.EstimateCost; the limits are enforced by the engine
// (EngineOpts.EnableQueryCost and Engine.SetQueryLimits, set by the binary).
// Without the feature none of this exists: the endpoints answer 404 and the
// parameters are ignored.

// costEstimate is Prometheus's CostEstimate JSON object.
type costEstimate struct {
	seriesTouched, samplesRead, peakSamples int64
}

func (c costEstimate) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"seriesTouched":`...)
	dst = strconv.AppendInt(dst, c.seriesTouched, 10)
	dst = append(dst, `,"samplesRead":`...)
	dst = strconv.AppendInt(dst, c.samplesRead, 10)
	if c.peakSamples != 0 { // omitempty
		dst = append(dst, `,"peakSamples":`...)
		dst = strconv.AppendInt(dst, c.peakSamples, 10)
	}
	return append(dst, '}')
}

// queryCostData is the payload of /query_cost and /query_range_cost.
type queryCostData struct{ estimate costEstimate }

func (d *queryCostData) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"estimate":`...)
	dst = d.estimate.appendJSON(dst)
	return append(dst, '}')
}

// costComparison is the "cost" field cost=true adds to a query result.
type costComparison struct{ estimated, actual costEstimate }

func (c *costComparison) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"estimated":`...)
	dst = c.estimated.appendJSON(dst)
	dst = append(dst, `,"actual":`...)
	dst = c.actual.appendJSON(dst)
	return append(dst, '}')
}

// registerQueryCost adds the cost endpoints when the feature is on.
func (a *API) registerQueryCost() {
	if !a.opts.EnableQueryCost {
		return
	}
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		a.handle(m, "/query_cost", a.wrap(a.agentWrapped("/query_cost", a.queryCost)))
		a.handle(m, "/query_range_cost", a.wrap(a.agentWrapped("/query_range_cost", a.queryRangeCost)))
	}
}

// queryOpts reads lookback_delta, stats=all (per-step stats), the
// X-Prometheus-Use-Start-Timestamps header and, with the feature, the
// per-query cost limits. An override above its ceiling is refused (not
// clamped) with the engine's ErrLimitAboveCeiling, here too because the
// cost endpoints never build a query for the engine to check.
func (a *API) queryOpts(r *http.Request) (promql.QueryOpts, error) {
	var lookback time.Duration
	if v := r.FormValue("lookback_delta"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("error parsing lookback delta duration: %w", err)
		}
		lookback = d
	}
	var useStartTimestamps *bool
	if v := r.Header.Get("X-Prometheus-Use-Start-Timestamps"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("error parsing X-Prometheus-Use-Start-Timestamps header: %w", err)
		}
		useStartTimestamps = &b
	}
	perStep := r.FormValue("stats") == "all"
	if !a.opts.EnableQueryCost {
		return promql.NewPrometheusQueryOpts(perStep, lookback, useStartTimestamps), nil
	}
	seriesCeiling, samplesCeiling, durationCeiling := a.costCeilings()
	var maxSeries, maxSamples uint64
	if v := r.FormValue("max_series"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("error parsing max_series: %w", err)
		}
		maxSeries = n
	}
	if v := r.FormValue("max_samples_read"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("error parsing max_samples_read: %w", err)
		}
		maxSamples = n
	}
	var maxDuration time.Duration
	if v := r.FormValue("max_query_duration"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("error parsing max_query_duration: %w", err)
		}
		if d < 0 {
			return nil, fmt.Errorf("error parsing max_query_duration: must not be negative, got %s", d)
		}
		maxDuration = d
	}
	if err := aboveCeiling("max_series", maxSeries, seriesCeiling); err != nil {
		return nil, err
	}
	if err := aboveCeiling("max_samples_read", maxSamples, samplesCeiling); err != nil {
		return nil, err
	}
	if maxDuration > 0 && durationCeiling > 0 && maxDuration > durationCeiling {
		return nil, promql.ErrLimitAboveCeiling{Limit: "max_query_duration", Requested: maxDuration.String(), Ceiling: durationCeiling.String()}
	}
	return promql.NewPrometheusQueryOptsWithLimits(perStep, lookback, maxSeries, maxSamples, maxDuration, useStartTimestamps), nil
}

// aboveCeiling refuses a requested limit above its ceiling; zero is
// unlimited on both sides and a request equal to the ceiling is accepted.
func aboveCeiling(name string, requested, ceiling uint64) error {
	if requested == 0 || ceiling == 0 || requested <= ceiling {
		return nil
	}
	return promql.ErrLimitAboveCeiling{Limit: name, Requested: strconv.FormatUint(requested, 10), Ceiling: strconv.FormatUint(ceiling, 10)}
}

// costRequested parses cost (a boolean; empty is false), only with the
// feature.
func (a *API) costRequested(r *http.Request) (bool, error) {
	if !a.opts.EnableQueryCost {
		return false, nil
	}
	v := r.FormValue("cost")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errors.New("must be a boolean")
	}
	return b, nil
}

// costCeilings are the config's global.query_max_series,
// query_max_samples_read and query_max_duration (zero: unlimited); while
// query_max_duration is unset --query.timeout is the duration ceiling, as
// the engine enforces it.
func (a *API) costCeilings() (maxSeries, maxSamples uint64, maxDuration time.Duration) {
	if !a.opts.EnableQueryCost || a.opts.Config == nil {
		return 0, 0, 0
	}
	g := a.opts.Config().GlobalConfig
	maxDuration = time.Duration(g.QueryMaxDuration)
	if maxDuration <= 0 {
		maxDuration = a.opts.QueryTimeout
	}
	return g.QueryMaxSeries, g.QueryMaxSamplesRead, maxDuration
}

// estimateCost runs upstream's estimator over st within the effective
// duration limit counted from limitStart, holding one of the engine's
// query slots as an executed query does. The lookback delta, default
// subquery step and scrape interval are those the engine would use.
func (a *API) estimateCost(ctx context.Context, st storage.Queryable, limitStart time.Time, qs string, start, end time.Time, step time.Duration, opts promql.QueryOpts) (promql.CostEstimate, annotations.Annotations, error) {
	_, _, duration := a.costCeilings()
	if limits, ok := opts.(promql.QueryCostOpts); ok && limits.MaxQueryDuration() > 0 {
		if duration <= 0 || limits.MaxQueryDuration() < duration {
			duration = limits.MaxQueryDuration()
		}
	}
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, limitStart.Add(duration))
		defer cancel()
	}
	release, err := a.opts.Engine.AcquireQuerySlot(ctx, qs)
	defer release()
	if err != nil {
		return promql.CostEstimate{}, nil, err
	}
	lookback := a.opts.LookbackDelta
	if opts != nil && opts.LookbackDelta() > 0 {
		lookback = opts.LookbackDelta()
	}
	var subqueryStep, scrapeInterval time.Duration
	if a.opts.Config != nil {
		g := a.opts.Config().GlobalConfig
		subqueryStep, scrapeInterval = time.Duration(g.EvaluationInterval), time.Duration(g.ScrapeInterval)
	}
	return promql.EstimateCost(ctx, st, a.parser, qs, start, end, step, lookback, subqueryStep, scrapeInterval)
}

// pendingCost is a query's estimate, made after it was built and before it
// runs (so that no finished result waits in memory for a query slot).
type pendingCost struct {
	estimate promql.CostEstimate
	annos    annotations.Annotations
	err      error
}

// finish pairs the estimate with the executed query's statistics; a failed
// estimate is a warning, never a failed query.
func (p pendingCost) finish(qry promql.Query, warnings annotations.Annotations) (*costComparison, annotations.Annotations) {
	warnings = warnings.Merge(p.annos)
	if p.err != nil {
		return nil, warnings.Add(fmt.Errorf("cost estimation failed: %w", p.err))
	}
	c := &costComparison{estimated: costEstimate{seriesTouched: p.estimate.SeriesTouched, samplesRead: p.estimate.SamplesRead}}
	if s := qry.Stats(); s != nil && s.Samples != nil {
		c.actual = costEstimate{seriesTouched: s.Samples.TotalSeries, samplesRead: s.Samples.SamplesRead, peakSamples: int64(s.Samples.PeakSamples)}
	}
	return c, warnings
}

// queryCost estimates an instant query without running it. limit, cost and
// stats are checked as /query checks them and then ignored, so that what
// one endpoint accepts the other does.
func (a *API) queryCost(r *http.Request) result {
	if _, err := parseLimit(r.FormValue("limit")); err != nil {
		return result{err: invalidParam(err, "limit")}
	}
	if _, err := a.costRequested(r); err != nil {
		return result{err: invalidParam(err, "cost")}
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
	res := a.estimateCostResult(ctx, r, ts, ts, 0, opts)
	if w := statsParamWarning(r.FormValue("stats")); w != nil {
		res.warnings = res.warnings.Add(w)
	}
	return res
}

// queryRangeCost estimates a range query without running it, with
// /query_range's parameter checks.
func (a *API) queryRangeCost(r *http.Request) result {
	if _, err := parseLimit(r.FormValue("limit")); err != nil {
		return result{err: invalidParam(err, "limit")}
	}
	if _, err := a.costRequested(r); err != nil {
		return result{err: invalidParam(err, "cost")}
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
	res := a.estimateCostResult(ctx, r, start, end, step, opts)
	if w := statsParamWarning(r.FormValue("stats")); w != nil {
		res.warnings = res.warnings.Add(w)
	}
	return res
}

// estimateCostResult checks the query as the engine would (a malformed one
// is bad data, as on /query) and answers the estimate; running out of the
// duration limit is a timeout, not a partial estimate.
func (a *API) estimateCostResult(ctx context.Context, r *http.Request, start, end time.Time, step time.Duration, opts promql.QueryOpts) result {
	qs := r.FormValue("query")
	expr, err := a.parser.ParseExpr(qs)
	if err != nil {
		return result{err: invalidParam(err, "query")}
	}
	if step > 0 && expr.Type() != parser.ValueTypeVector && expr.Type() != parser.ValueTypeScalar {
		return result{err: invalidParam(fmt.Errorf("invalid expression type %q for range query, must be Scalar or instant Vector", parser.DocumentedType(expr.Type())), "query")}
	}
	if _, err := promql.PreprocessExpr(expr, start, end, step); err != nil {
		return result{err: invalidParam(err, "query")}
	}
	st, apiErr := a.tenantStorage(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	if a.opts.Engine == nil {
		return result{err: errNoEngine}
	}
	estimate, annos, err := a.estimateCost(ctx, st, time.Now(), qs, start, end, step, opts)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return result{err: &apiError{errorTimeout, fmt.Errorf("cost estimation exceeded the query duration limit: %w", err)}, warnings: annos}
		}
		return result{err: classify(err), warnings: annos}
	}
	return result{
		data:     &queryCostData{estimate: costEstimate{seriesTouched: estimate.SeriesTouched, samplesRead: estimate.SamplesRead}},
		warnings: annos,
	}
}
