package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mytsdb/web"
)

// startWeb creates the web handler from the flags and starts serving, in
// server or agent mode (Prometheus's "Prometheus Agent" name and pages).
// errc receives Run's end, cancel stops it without waiting (after errc
// answered) and stop stops it and waits; ok is false when it could not
// start (logged).
func startWeb(s *server, logger *slog.Logger, reg *prometheus.Registry, agent bool) (wh *web.Handler, errc <-chan error, cancel, stop func(), ok bool) {
	opts := web.Options{
		Logger:               logger.With("component", "web"),
		ListenAddresses:      s.cfg.listenAddresses,
		WebConfigFile:        s.cfg.webConfigFile,
		ReadTimeout:          time.Duration(s.cfg.webReadTimeout),
		MaxConnections:       s.cfg.webMaxConnections,
		ExternalURL:          s.externalURL,
		RoutePrefix:          s.routePrefix,
		EnableLifecycle:      s.cfg.enableLifecycle,
		PageTitle:            s.cfg.pageTitle,
		UserAssetsPath:       s.cfg.userAssets,
		ConsoleTemplatesPath: s.cfg.consoleTemplates,
		ConsoleLibrariesPath: s.cfg.consoleLibraries,
		Gatherer:             reg,
		Registerer:           reg,
	}
	if agent {
		opts.AppName, opts.Agent = "Prometheus Agent", true
	}
	wh, err := web.New(opts)
	if err != nil {
		logger.Error("Unable to create the web handler", "err", err)
		return nil, nil, nil, nil, false
	}
	listeners, err := wh.Listen()
	if err != nil {
		logger.Error("Unable to start web listener", "err", err)
		return nil, nil, nil, nil, false
	}
	ctxWeb, cancelWeb := context.WithCancel(context.Background())
	webErr := make(chan error, 1)
	go func() { webErr <- wh.Run(ctxWeb, listeners) }()
	stop = func() {
		logger.Info("Stopping web handler...")
		cancelWeb()
		if err := <-webErr; err != nil {
			logger.Error("Web handler stopped with an error", "err", err)
		}
		logger.Info("Web handler stopped")
	}
	return wh, webErr, cancelWeb, stop, true
}
