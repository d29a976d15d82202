package promapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/storage"
)

// checkContextEvery is how often (in series) long loops look at the context.
const checkContextEvery = 128

// seriesList is the /series payload.
type seriesList []labels.Labels

func (s seriesList) appendJSON(dst []byte) []byte {
	dst = append(dst, '[')
	for i, ls := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendLabels(dst, ls)
	}
	return append(dst, ']')
}

func (a *API) series(r *http.Request) (res result) {
	if err := r.ParseForm(); err != nil {
		return result{err: badData(fmt.Errorf("error parsing form values: %w", err))}
	}
	if len(r.Form["match[]"]) == 0 {
		return result{err: badData(errors.New("no match[] parameter provided"))}
	}
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return result{err: invalidParam(err, "limit")}
	}
	start, err := timeParam(r, "start", minTime)
	if err != nil {
		return result{err: invalidParam(err, "start")}
	}
	end, err := timeParam(r, "end", maxTime)
	if err != nil {
		return result{err: invalidParam(err, "end")}
	}
	sets, err := a.parseMatchers(r.Form["match[]"])
	if err != nil {
		return result{err: invalidParam(err, "match[]")}
	}
	st, apiErr := a.tenantStorage(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	q, err := st.Querier(timestamp.FromTime(start), timestamp.FromTime(end))
	if err != nil {
		return result{err: classify(err)}
	}
	closer := func() { _ = q.Close() }
	defer func() {
		if res.finalizer == nil {
			closer()
		}
	}()

	ctx := r.Context()
	hints := &storage.SelectHints{
		Start: timestamp.FromTime(start),
		End:   timestamp.FromTime(end),
		Func:  "series", // no such function: tells storage no samples are needed
		Limit: hintLimit(limit),
	}
	var set storage.SeriesSet
	if len(sets) > 1 {
		all := make([]storage.SeriesSet, 0, len(sets))
		for _, ms := range sets {
			all = append(all, q.Select(ctx, true, hints, ms...)) // sorted, to merge
		}
		set = storage.NewMergeSeriesSet(all, 0, storage.ChainedSeriesMerge)
	} else {
		set = q.Select(ctx, false, hints, sets[0]...)
	}

	out := seriesList{}
	warnings := set.Warnings()
	for i := 1; set.Next(); i++ {
		if i%checkContextEvery == 0 {
			if err := ctx.Err(); err != nil {
				return result{err: classify(err), warnings: warnings, finalizer: closer}
			}
		}
		out = append(out, set.At().Labels())
		if limit > 0 && len(out) > limit {
			out = out[:limit]
			warnings.Add(errors.New("results truncated due to limit"))
			return result{data: out, warnings: warnings, finalizer: closer}
		}
	}
	if err := set.Err(); err != nil {
		return result{err: classify(err), warnings: warnings, finalizer: closer}
	}
	return result{data: out, warnings: warnings, finalizer: closer}
}
