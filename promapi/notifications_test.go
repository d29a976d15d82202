package promapi

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/util/features"
	"github.com/prometheus/prometheus/util/notifications"
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
	if got := api.headChunks(DefaultTenant); got != 42 {
		t.Errorf("headChunks = %d, want 42", got)
	}
	// Another tenant's gauge carries tenant="<id>" (storage's registerer):
	// each tenant reads its own, and one without a gauge reads NaN.
	other := prometheus.NewGauge(prometheus.GaugeOpts{Name: "prometheus_tsdb_head_chunks", Help: "Chunks.", ConstLabels: prometheus.Labels{"tenant": "team-b"}})
	other.Set(7)
	if err := prometheus.WrapRegistererWith(nil, reg).Register(unchecked{other}); err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	for tenant, want := range map[string]int64{DefaultTenant: 42, "team-b": 7, "team-c": int64(nan)} {
		if got := api.headChunks(tenant); got != want {
			t.Errorf("headChunks(%s) = %d, want %d", tenant, got, want)
		}
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

// TestNotices runs the notice store Prometheus uses behind both endpoints:
// the list, the stream (current notices first, then changes, a deletion sent
// as inactive) and the subscriber limit.
func TestNotices(t *testing.T) {
	store := notifications.NewNotifications(1, nil)
	api := New(Options{Engine: testEngine(), Notices: store})
	rec := serve(api.Handler(), http.MethodGet, "/api/v1/notifications", nil)
	if rec.Code != 200 || rec.Body.String() != `{"status":"success","data":[]}` {
		t.Fatalf("empty list: %d %s", rec.Code, rec.Body)
	}
	store.AddNotification(notifications.ConfigurationUnsuccessful)
	rec = serve(api.Handler(), http.MethodGet, "/api/v1/notifications", nil)
	var list struct {
		Data []notifications.Notification `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Data) != 1 ||
		list.Data[0].Text != notifications.ConfigurationUnsuccessful || !list.Data[0].Active {
		t.Fatalf("list: %s (%v)", rec.Body, err)
	}

	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/notifications/live", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewScanner(resp.Body)
	next := func() notifications.Notification {
		t.Helper()
		for events.Scan() {
			line, ok := strings.CutPrefix(events.Text(), "data: ")
			if !ok {
				continue
			}
			var n notifications.Notification
			if err := json.Unmarshal([]byte(line), &n); err != nil {
				t.Fatalf("event %q: %v", line, err)
			}
			return n
		}
		t.Fatalf("stream ended: %v", events.Err())
		return notifications.Notification{}
	}
	if n := next(); n.Text != notifications.ConfigurationUnsuccessful || !n.Active {
		t.Errorf("first event %+v, want the current notice", n)
	}

	// The one subscriber allowed is taken: Prometheus answers 204.
	rec2, err := http.Get(srv.URL + "/api/v1/notifications/live")
	if err != nil {
		t.Fatal(err)
	}
	rec2.Body.Close()
	if rec2.StatusCode != http.StatusNoContent {
		t.Errorf("second subscriber: %d, want 204", rec2.StatusCode)
	}

	store.DeleteNotification(notifications.ConfigurationUnsuccessful)
	if n := next(); n.Text != notifications.ConfigurationUnsuccessful || n.Active {
		t.Errorf("deletion event %+v, want it inactive", n)
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

// unchecked registers a collector without descriptors, as storage does for
// other tenants' metrics (same name as the default tenant's, one more label).
type unchecked struct{ prometheus.Collector }

func (unchecked) Describe(chan<- *prometheus.Desc) {}
