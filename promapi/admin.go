package promapi

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
)

// AdminStorage may be implemented by a TenantStorage; delete_series and
// clean_tombstones act on the request's tenant (X-Scope-OrgID, absent =
// "default"). A TenantStorage without it is answered like a Prometheus
// whose TSDB is not ready: 500 "unavailable" "TSDB not ready".
type AdminStorage interface {
	DeleteSeries(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error
	CleanTombstones(ctx context.Context) error
}

// ErrTSDBNotReady is Prometheus's tsdb.ErrNotReady. An AdminStorage (or
// Options.Snapshot) returns it, wrapped or not, while it cannot act yet; the
// API then answers 500 "unavailable" instead of "internal", as Prometheus does.
var ErrTSDBNotReady = errors.New("TSDB not ready")

// errSnapshotUnsupported is the cause reported when Options.Snapshot is nil.
const errSnapshotUnsupported = errorString("snapshots are not supported by this server")

// snapshotTimeFormat is the time part of a snapshot's name.
const snapshotTimeFormat = "20060102T150405Z0700"

// storageError is how Prometheus reports a failed admin operation: internal,
// or unavailable when the TSDB is not ready. Both are 500s.
func storageError(err error) *apiError {
	if errors.Is(err, ErrTSDBNotReady) {
		return &apiError{errorUnavailable, err}
	}
	return &apiError{errorInternal, err}
}

// adminStorage returns the AdminStorage of the request's tenant.
func (a *API) adminStorage(r *http.Request) (AdminStorage, *apiError) {
	st, apiErr := a.tenantStorage(r)
	if apiErr != nil {
		return nil, apiErr
	}
	as, ok := st.(AdminStorage)
	if !ok {
		return nil, &apiError{errorUnavailable, ErrTSDBNotReady}
	}
	return as, nil
}

// deleteSeries is POST/PUT /admin/tsdb/delete_series: every match[]
// selector deletes its series in [start, end] (default: all time), one
// storage call per selector in order, as Prometheus does. Like Prometheus,
// the selectors need not contain a non-empty matcher, start may be after
// end, and a selector that does not parse stops the loop after the earlier
// selectors' deletions.
func (a *API) deleteSeries(r *http.Request) result {
	if err := r.ParseForm(); err != nil {
		return result{err: badData(fmt.Errorf("error parsing form values: %w", err))}
	}
	sels := r.Form["match[]"]
	if len(sels) == 0 {
		return result{err: badData(errors.New("no match[] parameter provided"))}
	}
	start, err := timeParam(r, "start", minTime)
	if err != nil {
		return result{err: invalidParam(err, "start")}
	}
	end, err := timeParam(r, "end", maxTime)
	if err != nil {
		return result{err: invalidParam(err, "end")}
	}
	// Parse first (no side effects), so that a first selector that does not
	// parse is answered before the tenant is looked at, like every other
	// parameter error; later parse errors come after the earlier deletions.
	var sets [][]*labels.Matcher
	var parseErr *apiError
	for _, s := range sels {
		ms, err := a.parser.ParseMetricSelector(s)
		if err != nil {
			parseErr = invalidParam(err, "match[]")
			break
		}
		sets = append(sets, ms)
	}
	if len(sets) == 0 {
		return result{err: parseErr}
	}
	as, apiErr := a.adminStorage(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	mint, maxt := timestamp.FromTime(start), timestamp.FromTime(end)
	for _, ms := range sets {
		if err := as.DeleteSeries(r.Context(), mint, maxt, ms...); err != nil {
			return result{err: storageError(err)}
		}
	}
	if parseErr != nil {
		return result{err: parseErr}
	}
	return result{} // 204 No Content
}

// cleanTombstones is POST/PUT /admin/tsdb/clean_tombstones. It takes no
// parameters.
func (a *API) cleanTombstones(r *http.Request) result {
	as, apiErr := a.adminStorage(r)
	if apiErr != nil {
		return result{err: apiErr}
	}
	if err := as.CleanTombstones(r.Context()); err != nil {
		return result{err: storageError(err)}
	}
	return result{} // 204 No Content
}

// snapshotData is the /admin/tsdb/snapshot payload.
type snapshotData struct {
	Name string `json:"name"`
}

// snapshot is POST/PUT /admin/tsdb/snapshot: it names the snapshot like
// Prometheus (UTC time, "-", 16 hex digits of a random non-negative int64)
// and has Options.Snapshot write it. The snapshot covers every tenant, so
// X-Scope-OrgID is not read.
func (a *API) snapshot(r *http.Request) result {
	skipHead := false
	if s := r.FormValue("skip_head"); s != "" {
		var err error
		if skipHead, err = strconv.ParseBool(s); err != nil {
			return result{err: invalidParam(fmt.Errorf("unable to parse boolean: %w", err), "skip_head")}
		}
	}
	name := fmt.Sprintf("%s-%016x", a.now().UTC().Format(snapshotTimeFormat), rand.Int64())
	if a.opts.Snapshot == nil {
		return result{err: &apiError{errorInternal, fmt.Errorf("create snapshot: %w", errSnapshotUnsupported)}}
	}
	if err := a.opts.Snapshot(r.Context(), name, !skipHead); err != nil {
		return result{err: storageError(fmt.Errorf("create snapshot: %w", err))}
	}
	return result{data: &snapshotData{Name: name}}
}
