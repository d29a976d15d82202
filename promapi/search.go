package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/httputil"
)

// The experimental search API (--enable-feature=search-api), as Prometheus
// 3.16 serves it: /search/metric_names, /search/label_names and
// /search/label_values, GET or POST, answered as a stream of NDJSON lines:
// one or more {"results":[...],"warnings":[...]} batches (the first always,
// even empty), then {"status":"success","has_more":...} — or an in-band
// {"status":"error",...} line when the storage fails after the first batch.
// Errors before the stream starts are the usual JSON envelope.
//
// The storage side is the upstream storage.Searcher when a tenant's querier
// implements it; any other querier is searched through its LabelNames and
// LabelValues with the upstream storage.ApplySearchHints (filter, order,
// limit over the sorted values), which is what the TSDB's block queriers do.

const (
	fuzzSubsequence          = "subsequence"
	defaultSearchLimit       = 100
	defaultSearchBatchSize   = 100
	maxSearchBatchSize       = 1000
	maxSearchTermsPerRequest = 32
	// searchMetadataTTL is how long the metric metadata of all targets is
	// reused between include_metadata requests (autocomplete asks on every
	// keystroke).
	searchMetadataTTL = 5 * time.Second
)

// fuzzAlgorithms are the fuzz_alg values, in Prometheus's order (its error
// message lists them).
var fuzzAlgorithms = []string{fuzzSubsequence, "jarowinkler"}

// searchParams are a search request's parameters.
type searchParams struct {
	matcherSets   [][]*labels.Matcher
	searches      []string
	fuzzThreshold int
	fuzzAlg       string
	caseSensitive bool
	sortBy        string
	sortDir       string
	includeScore  bool
	start, end    time.Time
	limit         int
	batchSize     int
}

func (a *API) parseSearchParams(r *http.Request) (searchParams, *apiError) {
	var sp searchParams
	now := a.now()
	var err error
	if sp.start, err = timeParam(r, "start", now.Add(-time.Hour)); err != nil {
		return sp, badData(err)
	}
	if sp.end, err = timeParam(r, "end", now); err != nil {
		return sp, badData(err)
	}
	if sp.end.Before(sp.start) {
		return sp, badData(errors.New("end timestamp must not be before start timestamp"))
	}
	if m := r.Form["match[]"]; len(m) > 0 {
		if sp.matcherSets, err = a.parseMatchers(m); err != nil {
			return sp, badData(err)
		}
	}
	sp.searches = r.Form["search[]"]
	if len(sp.searches) > maxSearchTermsPerRequest {
		return sp, badData(fmt.Errorf("too many search[] terms: got %d, maximum is %d", len(sp.searches), maxSearchTermsPerRequest))
	}
	if v := r.FormValue("fuzz_threshold"); v != "" {
		ft, err := strconv.Atoi(v)
		if err != nil || ft < 0 || ft > 100 {
			return sp, badData(fmt.Errorf("invalid fuzz_threshold %q: must be 0-100", v))
		}
		sp.fuzzThreshold = ft
	}
	sp.fuzzAlg = fuzzSubsequence
	if v := r.FormValue("fuzz_alg"); v != "" {
		if !slices.Contains(fuzzAlgorithms, v) {
			return sp, badData(fmt.Errorf("unsupported fuzz_alg %q: must be one of %v", v, fuzzAlgorithms))
		}
		sp.fuzzAlg = v
	}
	var apiErr *apiError
	if sp.caseSensitive, apiErr = searchBool(r, "case_sensitive", true); apiErr != nil {
		return sp, apiErr
	}
	if sp.includeScore, apiErr = searchBool(r, "include_score", false); apiErr != nil {
		return sp, apiErr
	}
	sp.sortBy, sp.sortDir = r.FormValue("sort_by"), r.FormValue("sort_dir")
	switch {
	case sp.sortDir != "" && sp.sortBy == "":
		return sp, badData(errors.New("sort_dir is only valid when sort_by is set"))
	case sp.sortDir != "" && sp.sortBy == "score":
		return sp, badData(errors.New("sort_dir is not supported for sort_by=score"))
	case sp.sortDir == "":
		sp.sortDir = "asc"
	}
	if sp.sortDir != "asc" && sp.sortDir != "dsc" {
		return sp, badData(fmt.Errorf("invalid sort_dir %q: must be \"asc\" or \"dsc\"", sp.sortDir))
	}
	if sp.sortBy == "score" && len(sp.searches) == 0 {
		return sp, badData(errors.New("sort_by=score requires search[] to be set"))
	}
	// Without a limit parameter the default shrinks to a smaller cap.
	maxLimit := a.opts.MaxSearchLimit
	sp.limit = defaultSearchLimit
	if maxLimit > 0 && sp.limit > maxLimit {
		sp.limit = maxLimit
	}
	if v := r.FormValue("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l <= 0 {
			return sp, badData(fmt.Errorf("invalid limit %q: must be a positive integer", v))
		}
		if maxLimit > 0 && l > maxLimit {
			return sp, badData(fmt.Errorf("limit %d exceeds the configured maximum (%d, see --web.search.max-limit)", l, maxLimit))
		}
		sp.limit = l
	}
	sp.batchSize = defaultSearchBatchSize
	if v := r.FormValue("batch_size"); v != "" {
		bs, err := strconv.Atoi(v)
		if err != nil || bs <= 0 {
			return sp, badData(fmt.Errorf("invalid batch_size %q: must be a positive integer", v))
		}
		sp.batchSize = bs
	}
	sp.batchSize = min(sp.batchSize, sp.limit, maxSearchBatchSize)
	return sp, nil
}

func searchBool(r *http.Request, name string, def bool) (bool, *apiError) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badData(fmt.Errorf("invalid %s %q: must be boolean", name, v))
	}
	return b, nil
}

// searchOrdering maps sort_by and sort_dir to the storage's ordering.
func searchOrdering(sortBy, sortDir string) storage.Ordering {
	switch {
	case sortBy == "score":
		return storage.OrderByScoreDesc
	case sortBy == "alpha" && sortDir == "dsc":
		return storage.OrderByValueDesc
	}
	return storage.OrderByValueAsc
}

// searchError is the API error of a storage error (unavailable while the
// storage is not ready).
func searchError(err error) *apiError {
	if errors.Is(err, ErrTSDBNotReady) {
		return &apiError{errorUnavailable, err}
	}
	return classify(err)
}

// searchRequest is what the three endpoints share once the request is valid.
type searchRequest struct {
	sp       searchParams
	hints    *storage.SearchHints
	searcher storage.Searcher
	q        storage.Querier
}

// newSearchRequest checks the feature gate and the mode, parses the request
// and opens the tenant's querier over [start, end]; on failure it has
// answered and returns nil, else the caller closes req.q.
func (a *API) newSearchRequest(w http.ResponseWriter, r *http.Request, endpoint string) *searchRequest {
	httputil.SetCORS(w, a.cors, r)
	if !a.opts.EnableSearch {
		a.respondError(w, &apiError{errorUnavailable, errorString("search API disabled")}, nil)
		return nil
	}
	if a.opts.Agent {
		a.respondError(w, &apiError{errorExec, errorString("unavailable with Prometheus Agent")}, nil)
		return nil
	}
	if err := r.ParseForm(); err != nil {
		a.respondError(w, badData(fmt.Errorf("error parsing form values: %w", err)), nil)
		return nil
	}
	sp, apiErr := a.parseSearchParams(r)
	if apiErr != nil {
		a.respondError(w, apiErr, nil)
		return nil
	}
	if sp.sortBy != "" && sp.sortBy != "alpha" && sp.sortBy != "score" {
		a.respondError(w, badData(fmt.Errorf("invalid sort_by %q for %s: must be \"alpha\" or \"score\"", sp.sortBy, endpoint)), nil)
		return nil
	}
	st, apiErr := a.tenantStorage(r)
	if apiErr != nil {
		a.respondError(w, apiErr, nil)
		return nil
	}
	q, err := st.Querier(timestamp.FromTime(sp.start), timestamp.FromTime(sp.end))
	if err != nil {
		a.respondError(w, searchError(err), nil)
		return nil
	}
	searcher, native := q.(storage.Searcher)
	if !native {
		searcher = labelSearcher{q}
	}
	limit := sp.limit + 1 // one more, to tell has_more
	if sp.limit >= math.MaxInt {
		limit = math.MaxInt
	}
	hints := &storage.SearchHints{
		Filter:  newSearchFilter(sp.searches, sp.fuzzThreshold, sp.fuzzAlg, sp.caseSensitive, native),
		Limit:   limit,
		OrderBy: searchOrdering(sp.sortBy, sp.sortDir),
	}
	return &searchRequest{sp: sp, hints: hints, searcher: searcher, q: q}
}

// labelSearcher searches a querier that is not a storage.Searcher through
// its label methods, which return sorted values.
type labelSearcher struct{ q storage.LabelQuerier }

func (s labelSearcher) SearchLabelNames(ctx context.Context, hints *storage.SearchHints, ms ...*labels.Matcher) storage.SearchResultSet {
	names, warns, err := s.q.LabelNames(ctx, &storage.LabelHints{}, ms...)
	return searchResults(names, warns, err, hints)
}

func (s labelSearcher) SearchLabelValues(ctx context.Context, name string, hints *storage.SearchHints, ms ...*labels.Matcher) storage.SearchResultSet {
	vals, warns, err := s.q.LabelValues(ctx, name, &storage.LabelHints{}, ms...)
	return searchResults(vals, warns, err, hints)
}

func searchResults(vals []string, warns annotations.Annotations, err error, hints *storage.SearchHints) storage.SearchResultSet {
	if err != nil {
		return storage.NewSearchResultSetFromSliceAndError(nil, warns, err)
	}
	return storage.NewSearchResultSetFromSlice(storage.ApplySearchHints(vals, hints), warns)
}

// search runs fn once per match[] set (lazily, merged by the storage's
// helper: duplicates collapse, the order is kept) or once without matchers.
func search(sets [][]*labels.Matcher, hints *storage.SearchHints, fn func(ms ...*labels.Matcher) storage.SearchResultSet) storage.SearchResultSet {
	if len(sets) > 1 {
		rs := make([]storage.SearchResultSet, 0, len(sets))
		for _, ms := range sets {
			rs = append(rs, storage.NewLazySearchResultSet(func() storage.SearchResultSet { return fn(ms...) }))
		}
		return storage.MergeSearchResultSets(rs, hints)
	}
	var ms []*labels.Matcher
	if len(sets) == 1 {
		ms = sets[0]
	}
	return fn(ms...)
}

// Result records, in Prometheus's field order.
type (
	searchMetricName struct {
		Name  string   `json:"name"`
		Score *float64 `json:"score,omitempty"`
		Type  string   `json:"type,omitempty"`
		Help  string   `json:"help,omitempty"`
		Unit  string   `json:"unit,omitempty"`
	}
	searchLabelName struct {
		Name  string   `json:"name"`
		Score *float64 `json:"score,omitempty"`
	}
	searchLabelValue struct {
		Value string   `json:"value"`
		Score *float64 `json:"score,omitempty"`
	}
	searchBatch[T any] struct {
		Results  []T      `json:"results"`
		Warnings []string `json:"warnings,omitempty"`
	}
	searchTrailer struct {
		Status   string   `json:"status"`
		HasMore  bool     `json:"has_more"`
		Warnings []string `json:"warnings,omitempty"`
	}
	searchStreamError struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
)

func (a *API) searchMetricNames(w http.ResponseWriter, r *http.Request) {
	req := a.newSearchRequest(w, r, "metric_names")
	if req == nil {
		return
	}
	defer req.q.Close()
	withMeta, apiErr := searchBool(r, "include_metadata", false)
	if apiErr != nil {
		a.respondError(w, apiErr, nil)
		return
	}
	ctx := r.Context()
	var meta map[string][]scrape.MetricMetadata
	metaDone := false // built on the first result, so an empty search never pays for it
	rs := search(req.sp.matcherSets, req.hints, func(ms ...*labels.Matcher) storage.SearchResultSet {
		return req.searcher.SearchLabelValues(ctx, labels.MetricName, req.hints, ms...)
	})
	streamSearch(ctx, a, w, rs, req.sp, func(sr storage.SearchResult) searchMetricName {
		res := searchMetricName{Name: sr.Value, Score: score(req.sp, sr)}
		if withMeta {
			if !metaDone {
				meta, metaDone = a.metricMetadataMap(ctx), true
			}
			if md, ok := metadataOf(meta, sr.Value); ok {
				res.Type, res.Help, res.Unit = string(md.Type), md.Help, md.Unit
			}
		}
		return res
	})
}

func (a *API) searchLabelNames(w http.ResponseWriter, r *http.Request) {
	req := a.newSearchRequest(w, r, "label_names")
	if req == nil {
		return
	}
	defer req.q.Close()
	ctx := r.Context()
	rs := search(req.sp.matcherSets, req.hints, func(ms ...*labels.Matcher) storage.SearchResultSet {
		return req.searcher.SearchLabelNames(ctx, req.hints, ms...)
	})
	streamSearch(ctx, a, w, rs, req.sp, func(sr storage.SearchResult) searchLabelName {
		return searchLabelName{Name: sr.Value, Score: score(req.sp, sr)}
	})
}

func (a *API) searchLabelValues(w http.ResponseWriter, r *http.Request) {
	req := a.newSearchRequest(w, r, "label_values")
	if req == nil {
		return
	}
	defer req.q.Close()
	name := r.FormValue("label")
	if name == "" {
		a.respondError(w, badData(errors.New(`missing required parameter "label"`)), nil)
		return
	}
	ctx := r.Context()
	rs := search(req.sp.matcherSets, req.hints, func(ms ...*labels.Matcher) storage.SearchResultSet {
		return req.searcher.SearchLabelValues(ctx, name, req.hints, ms...)
	})
	streamSearch(ctx, a, w, rs, req.sp, func(sr storage.SearchResult) searchLabelValue {
		return searchLabelValue{Value: sr.Value, Score: score(req.sp, sr)}
	})
}

func score(sp searchParams, sr storage.SearchResult) *float64 {
	if !sp.includeScore {
		return nil
	}
	s := sr.Score
	return &s
}

// searchStreamer cuts a result set into batches of at most batchSize,
// stopping at limit; hasMore records that the set had one more.
type searchStreamer[T any] struct {
	rs        storage.SearchResultSet
	limit     int
	batchSize int
	emitted   int
	hasMore   bool
	convert   func(storage.SearchResult) T
}

func (s *searchStreamer[T]) next() ([]T, error) {
	if s.hasMore {
		return nil, nil
	}
	batch := make([]T, 0, min(s.batchSize, s.limit-s.emitted))
	for len(batch) < s.batchSize {
		if s.emitted >= s.limit {
			if s.rs.Next() {
				s.hasMore = true
			}
			return batch, s.rs.Err()
		}
		if !s.rs.Next() {
			return batch, s.rs.Err()
		}
		s.emitted++
		batch = append(batch, s.convert(s.rs.At()))
	}
	return batch, nil
}

func warningStrings(rs storage.SearchResultSet) []string {
	var out []string
	for _, w := range rs.Warnings() {
		out = append(out, w.Error())
	}
	slices.Sort(out) // annotations are a map: a stable order on the wire
	return out
}

// ndjson writes one JSON value per line, flushing each.
type ndjson struct {
	w http.ResponseWriter
	f http.Flusher
}

func (n ndjson) line(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := n.w.Write(append(b, '\n')); err != nil {
		return err
	}
	n.f.Flush()
	return nil
}

func streamSearch[T any](ctx context.Context, a *API, w http.ResponseWriter, rs storage.SearchResultSet, sp searchParams, convert func(storage.SearchResult) T) {
	defer rs.Close()
	st := &searchStreamer[T]{rs: rs, limit: sp.limit, batchSize: sp.batchSize, convert: convert}
	first, firstErr := st.next()
	// Nothing at all and an error: the usual JSON error. An error beside
	// partial results opens the stream so the results are not lost.
	if firstErr != nil && len(first) == 0 {
		a.respondError(w, searchError(firstErr), nil)
		return
	}
	firstWarnings := warningStrings(rs)
	f, ok := w.(http.Flusher)
	if !ok {
		a.respondError(w, &apiError{errorInternal, errors.New("response writer does not support flushing")}, nil)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	out := ndjson{w, f}
	streamErr := func(e *apiError) {
		_ = out.line(searchStreamError{Status: "error", ErrorType: string(e.typ), Error: e.err.Error()})
	}
	if err := out.line(searchBatch[T]{Results: first, Warnings: firstWarnings}); err != nil {
		streamErr(&apiError{errorInternal, err})
		return
	}
	if firstErr != nil {
		streamErr(searchError(firstErr))
		return
	}
	if len(first) == 0 {
		_ = out.line(searchTrailer{Status: "success", HasMore: st.hasMore})
		return
	}
	for {
		if ctx.Err() != nil { // the client went away: stop reading the storage
			return
		}
		batch, err := st.next()
		if len(batch) > 0 {
			if err := out.line(searchBatch[T]{Results: batch}); err != nil {
				streamErr(&apiError{errorInternal, err})
				return
			}
		}
		if err != nil {
			streamErr(searchError(err))
			return
		}
		if len(batch) == 0 {
			break
		}
	}
	// Warnings that came up while draining, unless the first batch had
	// said the same.
	trailer := warningStrings(rs)
	if slices.Equal(trailer, firstWarnings) {
		trailer = nil
	}
	_ = out.line(searchTrailer{Status: "success", HasMore: st.hasMore, Warnings: trailer})
}

// searchMetaCache holds the last metric metadata map of all active targets.
type searchMetaCache struct {
	p atomic.Pointer[searchMetaEntry]
}

type searchMetaEntry struct {
	built time.Time
	data  map[string][]scrape.MetricMetadata
}

// metricMetadataMap snapshots every active target's metadata by metric
// family, one entry per distinct type (first seen wins), reused for
// searchMetadataTTL. The map is shared: read-only.
func (a *API) metricMetadataMap(ctx context.Context) map[string][]scrape.MetricMetadata {
	if e := a.searchMeta.p.Load(); e != nil && a.now().Sub(e.built) < searchMetadataTTL {
		return e.data
	}
	if a.opts.Targets == nil {
		return nil
	}
	out := map[string][]scrape.MetricMetadata{}
	for _, targets := range a.opts.Targets.TargetsActive() {
		for _, t := range targets {
			if ctx.Err() != nil {
				return out // partial, not cached
			}
			for _, md := range t.ListMetadata() {
				mds := out[md.MetricFamily]
				if !slices.ContainsFunc(mds, func(m scrape.MetricMetadata) bool { return m.Type == md.Type }) {
					out[md.MetricFamily] = append(mds, md)
				}
			}
		}
	}
	if ctx.Err() == nil {
		a.searchMeta.p.Store(&searchMetaEntry{built: a.now(), data: out})
	}
	return out
}

// metadataOf finds the family of a metric name: the name itself, else the
// name without its last suffix when the family's type has series with that
// suffix (x_total is not a series of the family x_total).
func metadataOf(meta map[string][]scrape.MetricMetadata, name string) (scrape.MetricMetadata, bool) {
	if mds := meta[name]; len(mds) > 0 {
		return mds[0], true
	}
	i := strings.LastIndexByte(name, '_')
	if i < 0 {
		return scrape.MetricMetadata{}, false
	}
	family, suffix := name[:i], name[i:]
	if (suffix == "_total" || suffix == "_info") && strings.HasSuffix(family, suffix) {
		return scrape.MetricMetadata{}, false
	}
	for _, md := range meta[family] {
		if suffixOfType(md.Type, suffix) {
			return md, true
		}
	}
	return scrape.MetricMetadata{}, false
}

// suffixOfType says which series suffixes a family type has (_created
// holds a timestamp, not a value of the family: never).
func suffixOfType(typ model.MetricType, suffix string) bool {
	switch suffix {
	case "_total":
		return typ == model.MetricTypeCounter
	case "_bucket":
		return typ == model.MetricTypeHistogram || typ == model.MetricTypeGaugeHistogram
	case "_sum", "_count":
		return typ == model.MetricTypeHistogram || typ == model.MetricTypeGaugeHistogram || typ == model.MetricTypeSummary
	case "_gsum", "_gcount":
		return typ == model.MetricTypeGaugeHistogram
	case "_info":
		return typ == model.MetricTypeInfo
	}
	return false
}
