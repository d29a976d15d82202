// Package web owns mytsdb's HTTP server: listeners (with Prometheus's
// --web.max-connections limit), TLS and authentication through
// exporter-toolkit's --web.config.file, the route prefix, and the endpoints
// that are not the query API: /-/healthy, /-/ready, /-/reload, /-/quit,
// /metrics and /debug/pprof. It mounts the /api/v1/* handler (package promapi)
// the remote-write receiver (package promapi/remotewrite) and /federate
// (promapi's Federate) that cmd/mytsdb hands it once the storage is open, and gates them on readiness exactly as
// Prometheus does (503 "Service Unavailable" with X-Prometheus-Stopping while
// starting or stopping). Later the browser UI lives here too.
//
// Bodies, status codes and methods of the /-/ endpoints mirror Prometheus's
// web/web.go, because Kubernetes probes, Grafana and scripts match on them: the
// health body is "Prometheus Server is Healthy.\n" (AppName is configurable:
// "Prometheus Agent" with --agent, where Options.Agent also sends "/" to the
// /agent page and drops the server-only pages, as Prometheus's agent does).
//
// What it must not touch: query logic (promapi), storage (it never sees it),
// and configuration loading — /-/reload only hands a request to the reload loop
// of cmd/mytsdb through Reload() and reports that loop's answer.
package web
