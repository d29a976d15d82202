package web

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type answer struct {
	code int
	body string
	hdr  http.Header
}

func call(h http.Handler, method, path string) answer {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return answer{rec.Code, string(b), rec.Result().Header}
}

func newTestHandler(t *testing.T, o Options) (*Handler, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.ListenAddresses = []string{"127.0.0.1:0"}
	o.Registerer = reg
	o.Gatherer = reg
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h, reg
}

// The expectations below are Prometheus 3.16's web/web.go answers (the
// side-by-side test in cmd/mytsdb checks them against the real binary).
func TestReadinessGatesTheAPI(t *testing.T) {
	h, reg := newTestHandler(t, Options{})
	h.SetAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api:"+r.URL.Path) }))

	if a := call(h, "GET", "/-/healthy"); a.code != 200 || a.body != "Prometheus Server is Healthy.\n" {
		t.Fatalf("healthy while starting: %+v", a)
	}
	for _, path := range []string{"/-/ready", "/api/v1/query"} {
		a := call(h, "GET", path)
		if a.code != 503 || a.body != "Service Unavailable" || a.hdr.Get("X-Prometheus-Stopping") != "false" {
			t.Fatalf("%s while starting: %+v", path, a)
		}
	}
	if a := call(h, "GET", "/api/v1/status/walreplay"); a.code != 200 || a.body != "api:/api/v1/status/walreplay" {
		t.Fatalf("walreplay must answer while starting: %+v", a)
	}
	if v := testutil.ToFloat64(h.metrics.readyStatus); v != 0 {
		t.Fatalf("prometheus_ready = %v while starting", v)
	}

	h.SetReady(Ready)
	if a := call(h, "GET", "/-/ready"); a.code != 200 || a.body != "Prometheus Server is Ready.\n" {
		t.Fatalf("ready: %+v", a)
	}
	if a := call(h, "GET", "/api/v1/query"); a.code != 200 || a.body != "api:/api/v1/query" {
		t.Fatalf("api when ready: %+v", a)
	}
	if v := testutil.ToFloat64(h.metrics.readyStatus); v != 1 {
		t.Fatalf("prometheus_ready = %v when ready", v)
	}

	h.SetReady(Stopping)
	if a := call(h, "GET", "/api/v1/query"); a.code != 503 || a.hdr.Get("X-Prometheus-Stopping") != "true" {
		t.Fatalf("api while stopping: %+v", a)
	}
	// Requests are counted under the route's name, label values bounded.
	call(h, "GET", "/api/v1/label/job/values")
	if n := testutil.ToFloat64(h.metrics.requestCounter.WithLabelValues("/api/v1/label/:name/values", "503")); n != 1 {
		t.Fatalf("label values requests counted %v", n)
	}
	if a := call(h, "GET", "/metrics"); a.code != 200 || !strings.Contains(a.body, "prometheus_http_requests_total") {
		t.Fatalf("/metrics: %d", a.code)
	}
	_ = reg
}

func TestRemoteWriteDisabledAndEnabled(t *testing.T) {
	h, _ := newTestHandler(t, Options{})
	h.SetReady(Ready)
	a := call(h, "POST", "/api/v1/write")
	if a.code != 404 || a.body != "remote write receiver needs to be enabled with --web.enable-remote-write-receiver\n" {
		t.Fatalf("disabled receiver: %+v", a)
	}
	h.SetRemoteWrite(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	if a := call(h, "POST", "/api/v1/write"); a.code != 204 {
		t.Fatalf("enabled receiver: %+v", a)
	}
}

// TestFederateRoute: /federate answers 503 until ready and until the API
// installs its handler, is counted under its name, and other methods get
// httprouter's answers (a 405 or, for OPTIONS, a 200, with Allow).
func TestFederateRoute(t *testing.T) {
	h, _ := newTestHandler(t, Options{})
	if a := call(h, "GET", "/federate"); a.code != 503 {
		t.Fatalf("before ready: %+v", a)
	}
	h.SetReady(Ready)
	if a := call(h, "GET", "/federate"); a.code != 503 || a.body != "Service Unavailable" {
		t.Fatalf("ready, no handler yet: %+v", a)
	}
	h.SetFederate(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("fed")) }))
	if a := call(h, "GET", "/federate"); a.code != 200 || a.body != "fed" {
		t.Fatalf("with a handler: %+v", a)
	}
	if n := testutil.ToFloat64(h.metrics.requestCounter.WithLabelValues("/federate", "200")); n != 1 {
		t.Fatalf("/federate 200s counted %v, want 1", n)
	}
	for _, m := range []string{"POST", "HEAD", "DELETE"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/federate", nil))
		if rec.Code != 405 || rec.Header().Get("Allow") != "GET, OPTIONS" {
			t.Fatalf("%s /federate: %d, Allow %q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("OPTIONS", "/federate", nil))
	if rec.Code != 200 || rec.Header().Get("Allow") != "GET, OPTIONS" {
		t.Fatalf("OPTIONS /federate: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestLifecycle(t *testing.T) {
	off, _ := newTestHandler(t, Options{})
	for _, m := range []string{"POST", "PUT"} {
		for _, p := range []string{"/-/reload", "/-/quit"} {
			if a := call(off, m, p); a.code != 403 || a.body != "Lifecycle API is not enabled." {
				t.Fatalf("%s %s without lifecycle: %+v", m, p, a)
			}
		}
	}
	if a := call(off, "GET", "/-/reload"); a.code != 405 || a.body != "Only POST or PUT requests allowed" {
		t.Fatalf("GET /-/reload: %+v", a)
	}

	on, _ := newTestHandler(t, Options{EnableLifecycle: true})
	results := []error{errors.New("couldn't load configuration: boom"), nil}
	go func() {
		for _, err := range results {
			rc := <-on.Reload()
			rc <- err
		}
	}()
	if a := call(on, "POST", "/-/reload"); a.code != 500 || a.body != "failed to reload config: couldn't load configuration: boom\n" {
		t.Fatalf("failed reload: %+v", a)
	}
	if a := call(on, "PUT", "/-/reload"); a.code != 200 || a.body != "" {
		t.Fatalf("good reload: %+v", a)
	}
	if a := call(on, "POST", "/-/quit"); a.code != 200 || a.body != "Requesting termination... Goodbye!" {
		t.Fatalf("quit: %+v", a)
	}
	select {
	case <-on.Quit():
	case <-time.After(time.Second):
		t.Fatal("Quit channel not closed")
	}
	if a := call(on, "POST", "/-/quit"); a.body != "Termination already in progress." {
		t.Fatalf("second quit: %+v", a)
	}
	// A reload that arrives while stopping does not hang.
	on.SetReady(Stopping)
	if a := call(on, "POST", "/-/reload"); a.code != 503 {
		t.Fatalf("reload while stopping: %+v", a)
	}
}

func TestRoutePrefix(t *testing.T) {
	h, _ := newTestHandler(t, Options{RoutePrefix: "/prom/"})
	h.SetReady(Ready)
	h.SetAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api:"+r.URL.Path) }))
	if a := call(h, "GET", "/prom/-/healthy"); a.code != 200 {
		t.Fatalf("prefixed healthy: %+v", a)
	}
	if a := call(h, "GET", "/-/healthy"); a.code != 404 {
		t.Fatalf("unprefixed healthy: %+v", a)
	}
	if a := call(h, "GET", "/prom/api/v1/query"); a.body != "api:/api/v1/query" {
		t.Fatalf("prefixed api: %+v", a)
	}
	if a := call(h, "GET", "/"); a.code != 302 || a.hdr.Get("Location") != "/prom" {
		t.Fatalf("root redirect: %+v", a)
	}
}
