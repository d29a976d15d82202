package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	toolkit "github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/prometheus/util/netconnlimit"
)

// Listen opens one listener per --web.listen-address, sharing the
// --web.max-connections limit like Prometheus. Call it before the storage
// opens so /-/healthy answers during a long WAL replay.
func (h *Handler) Listen() ([]net.Listener, error) {
	if err := toolkit.Validate(h.o.WebConfigFile); err != nil {
		return nil, fmt.Errorf("web: validate web configuration file: %w", err)
	}
	var sem chan struct{}
	if h.o.MaxConnections > 0 {
		sem = netconnlimit.NewSharedSemaphore(h.o.MaxConnections)
	}
	var ls []net.Listener
	for _, addr := range h.o.ListenAddresses {
		h.logger.Info("Start listening for connections", "address", addr)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, o := range ls {
				o.Close()
			}
			return nil, fmt.Errorf("web: listen on %s: %w", addr, err)
		}
		if sem != nil {
			l = netconnlimit.SharedLimitListener(l, sem)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// Run serves on the listeners until ctx ends, then shuts the server down,
// waiting up to Options.ShutdownTimeout for in-flight requests.
func (h *Handler) Run(ctx context.Context, listeners []net.Listener) error {
	srv := &http.Server{
		Handler:     h.withRecover(h.mux),
		ErrorLog:    slog.NewLogLogger(h.logger.Handler(), slog.LevelError),
		ReadTimeout: h.o.ReadTimeout,
	}
	webConfig := h.o.WebConfigFile
	errCh := make(chan error, 1)
	go func() {
		errCh <- toolkit.ServeMultiple(listeners, srv, &toolkit.FlagConfig{WebConfigFile: &webConfig}, h.logger)
	}()
	select {
	case err := <-errCh:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("web: serve: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), h.o.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			h.logger.Warn("Web server did not shut down cleanly", "err", err)
			srv.Close()
		}
		return nil
	}
}

// withRecover logs a handler's panic with its stack instead of letting
// net/http print it unformatted, then re-raises it.
func (h *Handler) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if err := recover(); err != nil {
				if err != http.ErrAbortHandler {
					h.logger.Error("Panic in HTTP handler", "path", r.URL.Path, "err", err)
				}
				panic(err)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
