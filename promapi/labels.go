package promapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// labelRange reads the limit, start, end and match[] parameters shared by
// /labels and /label/<name>/values.
func (a *API) labelRange(r *http.Request) (limit int, mint, maxt int64, sets [][]*labels.Matcher, e *apiError) {
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return 0, 0, 0, nil, invalidParam(err, "limit")
	}
	start, err := timeParam(r, "start", minTime)
	if err != nil {
		return 0, 0, 0, nil, invalidParam(err, "start")
	}
	end, err := timeParam(r, "end", maxTime)
	if err != nil {
		return 0, 0, 0, nil, invalidParam(err, "end")
	}
	_ = r.ParseForm() // FormValue above already parsed it; errors surface there
	sets, err = a.parseMatchers(r.Form["match[]"])
	if err != nil {
		return 0, 0, 0, nil, badData(err)
	}
	return limit, timestamp.FromTime(start), timestamp.FromTime(end), sets, nil
}

func (a *API) labelNames(r *http.Request) result {
	limit, mint, maxt, sets, apiErr := a.labelRange(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	st, apiErr := a.tenantStorage(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	q, err := st.Querier(mint, maxt)
	if err != nil {
		return result{err: classify(err)}
	}
	defer q.Close()

	hints := &storage.LabelHints{Limit: hintLimit(limit)}
	var (
		names    []string
		warnings annotations.Annotations
	)
	if len(sets) > 1 {
		seen := map[string]struct{}{}
		for _, ms := range sets {
			vals, w, err := q.LabelNames(r.Context(), hints, ms...)
			if err != nil {
				return result{err: classify(err), warnings: warnings}
			}
			warnings.Merge(w)
			for _, v := range vals {
				seen[v] = struct{}{}
			}
		}
		names = make([]string, 0, len(seen))
		for k := range seen {
			names = append(names, k)
		}
		slices.Sort(names)
	} else {
		var ms []*labels.Matcher
		if len(sets) == 1 {
			ms = sets[0]
		}
		names, warnings, err = q.LabelNames(r.Context(), hints, ms...)
		if err != nil {
			return result{err: &apiError{errorExec, err}, warnings: warnings}
		}
	}
	if names == nil {
		names = []string{}
	}
	if limit > 0 && len(names) > limit {
		names = names[:limit]
		warnings = warnings.Add(errors.New("results truncated due to limit"))
	}
	return result{data: names, warnings: warnings}
}

func (a *API) labelValues(r *http.Request) (res result) {
	name := labelNameFrom(r.Context())
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		return result{err: badData(fmt.Errorf("invalid label name: %q", name))}
	}
	limit, mint, maxt, sets, apiErr := a.labelRange(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	st, apiErr := a.tenantStorage(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	q, err := st.Querier(mint, maxt)
	if err != nil {
		return result{err: &apiError{errorExec, err}}
	}
	closer := func() { _ = q.Close() }
	defer func() {
		if res.finalizer == nil {
			closer()
		}
	}()

	ctx := r.Context()
	hints := &storage.LabelHints{Limit: hintLimit(limit)}
	var (
		vals     []string
		warnings annotations.Annotations
	)
	if len(sets) > 1 {
		seen := map[string]struct{}{}
		for _, ms := range sets {
			vs, w, err := q.LabelValues(ctx, name, hints, ms...)
			if err != nil {
				return result{err: &apiError{errorExec, err}, warnings: warnings, finalizer: closer}
			}
			warnings.Merge(w)
			for _, v := range vs {
				seen[v] = struct{}{}
			}
		}
		vals = make([]string, 0, len(seen))
		for v := range seen {
			vals = append(vals, v)
		}
	} else {
		var ms []*labels.Matcher
		if len(sets) == 1 {
			ms = sets[0]
		}
		vals, warnings, err = q.LabelValues(ctx, name, hints, ms...)
		if err != nil {
			return result{err: &apiError{errorExec, err}, warnings: warnings, finalizer: closer}
		}
		if vals == nil {
			vals = []string{}
		}
	}
	slices.Sort(vals)
	if limit > 0 && len(vals) > limit {
		vals = vals[:limit]
		warnings = warnings.Add(errors.New("results truncated due to limit"))
	}
	return result{data: vals, warnings: warnings, finalizer: closer}
}
