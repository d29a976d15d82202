package web

import (
	"fmt"
	"net/http"
)

// Quit is closed when a client asked for termination through /-/quit.
func (h *Handler) Quit() <-chan struct{} { return h.quitCh }

// Reload delivers a reply channel for each /-/reload request; the receiver
// must send exactly one error (nil for success) on it.
func (h *Handler) Reload() <-chan chan error { return h.reloadCh }

func (h *Handler) quit(w http.ResponseWriter, _ *http.Request) {
	var closed bool
	h.quitOnce.Do(func() {
		closed = true
		close(h.quitCh)
		fmt.Fprint(w, "Requesting termination... Goodbye!")
	})
	if !closed {
		fmt.Fprint(w, "Termination already in progress.")
	}
}

func (h *Handler) reload(w http.ResponseWriter, r *http.Request) {
	rc := make(chan error)
	select {
	case h.reloadCh <- rc:
	case <-r.Context().Done():
		return
	case <-h.stopping:
		http.Error(w, "failed to reload config: server is shutting down", http.StatusServiceUnavailable)
		return
	}
	if err := <-rc; err != nil {
		http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
	}
}

func lifecycleForbidden(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusForbidden)
	w.Write([]byte("Lifecycle API is not enabled."))
}

func onlyPostOrPut(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusMethodNotAllowed)
	w.Write([]byte("Only POST or PUT requests allowed"))
}
