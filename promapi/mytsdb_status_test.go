package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// mytsdb's own status endpoints: empty answers without their options, the
// options' answers otherwise, errors as 500 internal, and /status/progress
// (like /status/walreplay) answering while the server is not ready.
func TestMytsdbStatus(t *testing.T) {
	noStorage := func(string) (TenantStorage, error) { return nil, errors.New("no storage") }
	empty := New(Options{Engine: testEngine(), Storage: noStorage})
	for path, want := range map[string]string{
		"/api/v1/status/tenants":  `[]`,
		"/api/v1/status/progress": `{"walReplay":{"min":0,"max":0,"current":0},"tasks":[]}`,
	} {
		rec := serve(empty.Handler(), http.MethodGet, path, nil)
		if e := decode(t, rec); rec.Code != 200 || e.Status != "success" || string(e.Data) != want {
			t.Errorf("GET %s without options: %d %s", path, rec.Code, rec.Body)
		}
	}

	started := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	rate := 12.5
	tenants := []TenantStatus{{Tenant: "default", NumSeries: 3, SamplesPerSecond: &rate, BlockBytes: map[string]int64{}}, {Tenant: "team-b", Blocks: 1, BlockBytes: map[string]int64{"01": 9}}}
	prog := Progress{WALReplay: WALReplayStatus{Min: 1, Max: 4, Current: 2}, Tasks: []Task{{Tenant: "default", Kind: "compaction", Detail: "3 blocks", Started: started}}}
	fail := false
	ready := false
	api := New(Options{Engine: testEngine(), Storage: noStorage, Ready: func() bool { return ready },
		Tenants: func(context.Context) ([]TenantStatus, error) {
			if fail {
				return nil, errors.New("disk gone")
			}
			return tenants, nil
		},
		Progress: func(context.Context) (Progress, error) {
			if fail {
				return Progress{}, errors.New("disk gone")
			}
			return prog, nil
		},
	})
	if rec := serve(api.Handler(), http.MethodGet, "/api/v1/status/tenants", nil); rec.Code != 503 {
		t.Errorf("tenants before ready: %d %s", rec.Code, rec.Body)
	}
	rec := serve(api.Handler(), http.MethodGet, "/api/v1/status/progress", nil)
	var gotProg Progress
	if e := decode(t, rec); rec.Code != 200 || json.Unmarshal(e.Data, &gotProg) != nil || !reflect.DeepEqual(gotProg, prog) {
		t.Errorf("progress before ready: %d %s, want %+v", rec.Code, rec.Body, prog)
	}
	ready = true
	rec = serve(api.Handler(), http.MethodGet, "/api/v1/status/tenants", nil)
	var gotTenants []TenantStatus
	if e := decode(t, rec); rec.Code != 200 || json.Unmarshal(e.Data, &gotTenants) != nil || !reflect.DeepEqual(gotTenants, tenants) {
		t.Errorf("tenants: %d %s, want %+v", rec.Code, rec.Body, tenants)
	}
	fail = true
	for _, path := range []string{"/api/v1/status/tenants", "/api/v1/status/progress"} {
		rec := serve(api.Handler(), http.MethodGet, path, nil)
		if e := decode(t, rec); rec.Code != 500 || e.ErrorType != "internal" || e.Error == "" {
			t.Errorf("GET %s failing: %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := serve(api.Handler(), http.MethodPost, "/api/v1/status/tenants", nil); rec.Code != 405 {
		t.Errorf("POST /status/tenants: %d", rec.Code)
	}
}
