package promapi

import (
	"fmt"
	"net/http"
	"time"
)

// mytsdb's own status endpoints, which Prometheus does not have (it answers
// 404 there): they serve the UI's tenants, storage tiers and progress views,
// and anyone who wants the same figures with curl. They live under
// /api/v1/status/ beside Prometheus's status endpoints; their names are not
// Prometheus's, and their JSON is ours (documented on the types below).
//
//   - GET /api/v1/status/tenants: one TenantStatus per open tenant, sorted
//     by ID. X-Scope-OrgID is not needed and is ignored (the list spans all
//     tenants, as an operator's view).
//   - GET /api/v1/status/progress: Progress, the long work running now.
//     Like /status/walreplay it answers while the server starts.

// TenantStatus is one tenant's row of /api/v1/status/tenants.
type TenantStatus struct {
	Tenant string `json:"tenant"`
	// NumSeries counts the head's series (as /status/tsdb's headStats).
	NumSeries uint64 `json:"numSeries"`
	// MinTime and MaxTime bound every sample held (head, blocks and, for
	// the default tenant, a replaced Prometheus's data), in ms; both are
	// null when the tenant holds nothing.
	MinTime *int64 `json:"minTime"`
	MaxTime *int64 `json:"maxTime"`
	// HeadMinTime and HeadMaxTime bound the head's samples (null: empty head).
	HeadMinTime *int64 `json:"headMinTime"`
	HeadMaxTime *int64 `json:"headMaxTime"`
	// SamplesAppended counts the samples appended to the head since the
	// process started (prometheus_tsdb_head_samples_appended_total, float
	// and histogram).
	SamplesAppended float64 `json:"samplesAppended"`
	// SamplesPerSecond is the append rate between the previous reading (at
	// least a second old, at most as old as the server) and now; null until
	// there are two readings.
	SamplesPerSecond *float64 `json:"samplesPerSecond"`
	// Blocks counts the local blocks; BlocksBytes is their size and
	// BlockBytes the size of each, by ULID.
	Blocks      int              `json:"blocks"`
	BlocksBytes int64            `json:"blocksBytes"`
	BlockBytes  map[string]int64 `json:"blockBytes"`
	// WALBytes is the data the WAL holds (its size retention counts).
	WALBytes int64 `json:"walBytes"`
	// DiskBytes is the disk space the tenant's directory takes (what du
	// reports: preallocated WAL space included).
	DiskBytes int64 `json:"diskBytes"`
	// BucketBytes is the size of the tenant's blocks in the object-storage
	// bucket; null while no bucket tier is configured.
	BucketBytes *int64 `json:"bucketBytes"`
}

// Task is one piece of long work of /api/v1/status/progress.
type Task struct {
	Tenant string `json:"tenant"`
	// Kind is "head-cut", "compaction", "conversion" (a replaced
	// Prometheus's data moved into our blocks) or "upload".
	Kind    string    `json:"kind"`
	Detail  string    `json:"detail"`
	Started time.Time `json:"started"`
	// Done and Total count the steps of work that has steps (0 otherwise).
	Done  int `json:"done"`
	Total int `json:"total"`
}

// Progress is /api/v1/status/progress.
type Progress struct {
	// WALReplay is the default tenant's replay (as /status/walreplay).
	WALReplay WALReplayStatus `json:"walReplay"`
	// Tasks is the work running now, oldest first.
	Tasks []Task `json:"tasks"`
}

func (a *API) registerMytsdbStatus() {
	a.handle(http.MethodGet, "/status/tenants", a.wrap(a.statusTenants))
	a.handle(http.MethodGet, "/status/progress", a.envelope(a.statusProgress))
}

func (a *API) statusTenants(r *http.Request) result {
	if a.opts.Tenants == nil {
		return result{data: []TenantStatus{}}
	}
	ts, err := a.opts.Tenants(r.Context())
	if err != nil {
		return result{err: &apiError{errorInternal, fmt.Errorf("tenant status: %w", err)}}
	}
	if ts == nil {
		ts = []TenantStatus{}
	}
	return result{data: ts}
}

func (a *API) statusProgress(r *http.Request) result {
	if a.opts.Progress == nil {
		return result{data: Progress{Tasks: []Task{}}}
	}
	p, err := a.opts.Progress(r.Context())
	if err != nil {
		return result{err: &apiError{errorInternal, fmt.Errorf("progress: %w", err)}}
	}
	if p.Tasks == nil {
		p.Tasks = []Task{}
	}
	return result{data: p}
}
