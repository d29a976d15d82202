package promapi

import (
	"net/http"
	"sync"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
)

// The defaults of --storage.remote.read-sample-limit, -concurrent-limit and
// -max-bytes-in-frame.
const (
	defaultRemoteReadSampleLimit      = 5e7
	defaultRemoteReadConcurrencyLimit = 10
	defaultRemoteReadMaxBytesInFrame  = 1048576
)

// orDefault maps 0 to def and a negative value to 0.
func orDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// readHandlers holds one upstream remote-read handler per tenant (the
// upstream handler reads one fixed queryable). Only the default tenant's
// registers its metrics.
type readHandlers struct {
	mu sync.Mutex
	m  map[string]readHandler
}

type readHandler struct {
	q storage.SampleAndChunkQueryable
	h http.Handler
}

// remoteRead serves POST /api/v1/read (samples and streamed XOR chunks) with
// Prometheus's own handler over the tenant's storage, which must also be a
// storage.ChunkQueryable.
func (a *API) remoteRead(w http.ResponseWriter, r *http.Request) {
	id, st, apiErr := a.tenant(r)
	if apiErr != nil {
		http.Error(w, apiErr.err.Error(), apiErr.typ.httpStatus())
		return
	}
	q, ok := st.(storage.SampleAndChunkQueryable)
	if !ok {
		http.Error(w, "remote read: the storage of tenant "+id+" cannot read chunks", http.StatusInternalServerError)
		return
	}
	a.readHandler(id, q).ServeHTTP(w, r)
}

func (a *API) readHandler(id string, q storage.SampleAndChunkQueryable) http.Handler {
	a.reads.mu.Lock()
	defer a.reads.mu.Unlock()
	if rh, ok := a.reads.m[id]; ok && rh.q == q {
		return rh.h
	}
	if a.reads.m == nil {
		a.reads.m = map[string]readHandler{}
	}
	cfg := a.opts.Config
	if cfg == nil {
		cfg = func() config.Config { return config.Config{} }
	}
	frame := a.opts.RemoteReadMaxBytesInFrame
	if frame <= 0 {
		frame = defaultRemoteReadMaxBytesInFrame
	}
	// The upstream gate blocks every request at 0 (despite the flag's help
	// text), so the concurrency limit is never 0.
	concurrency := a.opts.RemoteReadConcurrencyLimit
	if concurrency <= 0 {
		concurrency = defaultRemoteReadConcurrencyLimit
	}
	reg := a.opts.Registerer
	if _, seen := a.reads.m[id]; seen || id != DefaultTenant {
		reg = nil
	}
	h := remote.NewReadHandler(a.logger, reg, q, cfg, orDefault(a.opts.RemoteReadSampleLimit, defaultRemoteReadSampleLimit), concurrency, frame)
	a.reads.m[id] = readHandler{q: q, h: h}
	return h
}
