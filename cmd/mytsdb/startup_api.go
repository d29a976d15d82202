package main

import (
	"context"
	"errors"

	"github.com/prometheus/prometheus/storage"

	"mytsdb/promapi"
	"mytsdb/storage/wal"
	"mytsdb/web"
)

// errNotReady is what the startup API's storage answers; the web handler
// keeps every query path behind its readiness check, so it is not seen.
var errNotReady = errors.New("TSDB not ready")

// mountStartupAPI serves the API while the storage opens, as Prometheus
// does: /api/v1/status/walreplay reports the default tenant's replay as it
// goes (the UI's startup page polls it) and /api/v1/notifications the
// "starting up" notice. mountAPI replaces it once the storage is open.
func mountStartupAPI(s *server, wh *web.Handler, progress *wal.ReplayProgress) {
	api := promapi.New(promapi.Options{
		Storage:        func(string) (promapi.TenantStorage, error) { return startupTenant{progress}, nil },
		ValidateTenant: func(string) error { return nil },
		Logger:         s.logger.With("component", "api"),
		Notices:        s.notices,
		CORSOrigin:     s.cors,
		Progress:       progressStatus(progress, nil),
	})
	wh.SetAPI(api.Handler())
}

// startupTenant is the storage the startup API reads: replay progress only.
type startupTenant struct{ progress *wal.ReplayProgress }

func (t startupTenant) WALReplayStatus() (promapi.WALReplayStatus, error) {
	return replayStatus(t.progress), nil
}

func (startupTenant) Querier(int64, int64) (storage.Querier, error) { return nil, errNotReady }

func (startupTenant) ExemplarQuerier(context.Context) (storage.ExemplarQuerier, error) {
	return nil, errNotReady
}

// WALReplayStatus reports a tenant's replay for /api/v1/status/walreplay.
func (t apiTenant) WALReplayStatus() (promapi.WALReplayStatus, error) {
	return replayStatus(t.ReplayProgress()), nil
}

func replayStatus(p *wal.ReplayProgress) promapi.WALReplayStatus {
	mn, mx, cur := p.Get()
	return promapi.WALReplayStatus{Min: mn, Max: mx, Current: cur}
}
