package promapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/util/features"
)

func TestSelfMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "prometheus_tsdb_head_chunks", Help: "Chunks."})
	g.Set(42)
	reg.MustRegister(g, prometheus.NewCounter(prometheus.CounterOpts{Name: "other_total", Help: "Other."}))
	api := New(Options{Engine: testEngine(), Gatherer: reg})
	rec := serve(api.Handler(), http.MethodGet, "/api/v1/status/self_metrics?metric_name_pattern=prometheus_.*", nil)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(body, `{"status":"success","data":[{"name":"prometheus_tsdb_head_chunks"`) || strings.Contains(body, "other_total") || !strings.Contains(body, `"value":42`) {
		t.Errorf("self metrics: %d %s", rec.Code, body)
	}
	rec = serve(api.Handler(), http.MethodGet, "/api/v1/status/self_metrics?metric_name_pattern=(", nil)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "invalid metric_name_pattern") {
		t.Errorf("bad pattern: %d %s", rec.Code, rec.Body)
	}
	if got := api.headChunks(); got != 42 {
		t.Errorf("headChunks = %d, want 42", got)
	}
}

func TestNotificationsLive(t *testing.T) {
	api := New(Options{Engine: testEngine()})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/notifications/live", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { api.Handler().ServeHTTP(rec, req); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not end with its request")
	}
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/event-stream" || rec.Body.Len() != 0 {
		t.Errorf("live: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}

func TestFeatures(t *testing.T) {
	api := New(Options{Engine: testEngine()})
	rec := serve(api.Handler(), http.MethodGet, "/api/v1/features", nil)
	if rec.Code != 500 || rec.Body.String() != `{"status":"error","errorType":"internal","error":"feature registry not configured"}` {
		t.Errorf("no registry: %d %s", rec.Code, rec.Body)
	}
	reg := features.NewRegistry()
	reg.Enable("promql", "at_modifier")
	reg.Disable("promql", "<experimental>")
	reg.Enable("api", "admin")
	api = New(Options{Engine: testEngine(), Features: reg})
	rec = serve(api.Handler(), http.MethodGet, "/api/v1/features", nil)
	want := `{"status":"success","data":{"api":{"admin":true},"promql":{"<experimental>":false,"at_modifier":true}}}`
	if rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("features: %d %s, want %s", rec.Code, rec.Body, want)
	}
}
