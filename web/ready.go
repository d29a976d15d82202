package web

import (
	"fmt"
	"net/http"
)

// ReadyStatus is the server's lifecycle state, as in Prometheus's web package.
type ReadyStatus uint32

const (
	NotReady ReadyStatus = iota // starting: storage opening or first config not applied yet
	Ready                       // serving normally
	Stopping                    // shutting down
)

// SetReady sets the lifecycle state that readiness-gated endpoints obey.
func (h *Handler) SetReady(v ReadyStatus) {
	h.ready.Store(uint32(v))
	if v == Ready {
		h.metrics.readyStatus.Set(1)
		return
	}
	h.metrics.readyStatus.Set(0)
	if v == Stopping {
		h.stoppingOnce.Do(func() { close(h.stopping) })
	}
}

// IsReady reports whether the server is in the Ready state.
func (h *Handler) IsReady() bool { return ReadyStatus(h.ready.Load()) == Ready }

// testReady calls f when ready and otherwise answers like Prometheus.
func (h *Handler) testReady(f http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch ReadyStatus(h.ready.Load()) {
		case Ready:
			f.ServeHTTP(w, r)
		case NotReady:
			w.Header().Set("X-Prometheus-Stopping", "false")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "Service Unavailable")
		case Stopping:
			w.Header().Set("X-Prometheus-Stopping", "true")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "Service Unavailable")
		default:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "Unknown state")
		}
	})
}
