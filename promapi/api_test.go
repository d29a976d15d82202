package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
)

// serve runs one request through the handler.
func serve(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		for _, x := range v {
			req.Header.Add(k, x) // canonical names, as a server parses them
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("decoding %q: %v", rec.Body.String(), err)
	}
	return e
}

func testEngine() *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
}

// TestTenants: X-Scope-OrgID picks the storage, absent means "default",
// invalid IDs are 400 bad_data, and one tenant never sees another's data.
func TestTenants(t *testing.T) {
	stores := map[string]*teststorage.TestStorage{"default": teststorage.New(t), "team-a": teststorage.New(t)}
	var asked []string
	api := New(Options{
		Engine: testEngine(),
		Storage: func(id string) (TenantStorage, error) {
			asked = append(asked, id)
			if st, ok := stores[id]; ok {
				return st, nil
			}
			return nil, errors.New("disk on fire")
		},
	})
	base := dataBase()
	appendDataSet(t, stores["team-a"], testDataSet(base), base)
	h := api.Handler()
	query := "/api/v1/query?" + url.Values{"query": {"count(test_gauge)"}, "time": {sec(base + 60000)}}.Encode()

	rec := serve(h, http.MethodGet, query, nil)
	if e := decode(t, rec); rec.Code != 200 || string(e.Data) != `{"resultType":"vector","result":[]}` {
		t.Errorf("default tenant: %d %s", rec.Code, rec.Body)
	}
	rec = serve(h, http.MethodGet, query, http.Header{TenantHeader: {"team-a"}})
	if e := decode(t, rec); rec.Code != 200 || !strings.Contains(string(e.Data), `"value":[`) || !strings.Contains(string(e.Data), `"3"]`) {
		t.Errorf("team-a: %d %s", rec.Code, rec.Body)
	}
	rec = serve(h, http.MethodGet, "/api/v1/labels", http.Header{TenantHeader: {"team-a"}})
	if !strings.Contains(rec.Body.String(), `"label.with.dots"`) {
		t.Errorf("team-a labels: %s", rec.Body)
	}
	rec = serve(h, http.MethodGet, "/api/v1/labels", nil)
	if rec.Body.String() != `{"status":"success","data":[]}` {
		t.Errorf("default labels: %s", rec.Body)
	}
	if fmt.Sprint(asked) != "[default team-a team-a default]" {
		t.Errorf("storages asked for %v", asked)
	}

	for _, bad := range [][]string{{"../x"}, {""}, {"a b"}, {"a", "b"}} {
		rec = serve(h, http.MethodGet, "/api/v1/series?match[]=up", http.Header{TenantHeader: bad})
		if e := decode(t, rec); rec.Code != 400 || e.ErrorType != "bad_data" {
			t.Errorf("tenant %q: %d %s", bad, rec.Code, rec.Body)
		}
	}
	rec = serve(h, http.MethodGet, "/api/v1/labels", http.Header{TenantHeader: {"other"}})
	if e := decode(t, rec); rec.Code != 500 || e.ErrorType != "internal" || !strings.Contains(e.Error, "disk on fire") {
		t.Errorf("failing storage: %d %s", rec.Code, rec.Body)
	}
	// Parameter errors come first, exactly as in Prometheus.
	rec = serve(h, http.MethodGet, "/api/v1/query?query=1&time=x", http.Header{TenantHeader: {"../x"}})
	if e := decode(t, rec); !strings.Contains(e.Error, `invalid parameter "time"`) {
		t.Errorf("bad time with bad tenant: %s", rec.Body)
	}
}

// TestErrorClasses maps each engine and storage failure to Prometheus's
// error type and status code.
func TestErrorClasses(t *testing.T) {
	for _, c := range []struct {
		err  error
		typ  errorType
		code int
	}{
		{promql.ErrQueryCanceled("x"), errorCanceled, 499},
		{promql.ErrQueryTimeout("x"), errorTimeout, 503},
		{promql.ErrTooManySamples("x"), errorExec, 422},
		{promql.ErrTooManySeries("x"), errorCostLimit, 422},
		{promql.ErrTooManySamplesRead("x"), errorCostLimit, 422},
		{promql.ErrStorage{Err: errors.New("x")}, errorInternal, 500},
		{fmt.Errorf("wrapped: %w", context.Canceled), errorCanceled, 499},
		{context.DeadlineExceeded, errorExec, 422},
		{errors.New("x"), errorExec, 422},
	} {
		got := classify(c.err)
		if got.typ != c.typ || got.typ.httpStatus() != c.code {
			t.Errorf("%T %v: %s %d, want %s %d", c.err, c.err, got.typ, got.typ.httpStatus(), c.typ, c.code)
		}
	}
	for typ, code := range map[errorType]int{errorBadData: 400, errorNotFound: 404, errorNotAcceptable: 406, errorUnavailable: 500, errorInternal: 500} {
		if typ.httpStatus() != code {
			t.Errorf("%s: %d, want %d", typ, typ.httpStatus(), code)
		}
	}
}

// TestQueryTimeoutAndCancel runs queries the engine must abort.
func TestQueryTimeoutAndCancel(t *testing.T) {
	st := teststorage.New(t)
	base := dataBase()
	appendDataSet(t, st, testDataSet(base), base)
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Nanosecond, LookbackDelta: 5 * time.Minute})
	api := New(Options{Engine: eng, Storage: func(string) (TenantStorage, error) { return st, nil }})
	rec := serve(api.Handler(), http.MethodGet, "/api/v1/query?query=test_gauge&time="+sec(base), nil)
	if e := decode(t, rec); rec.Code != 503 || e.ErrorType != "timeout" {
		t.Errorf("engine timeout: %d %s", rec.Code, rec.Body)
	}

	api = New(Options{Engine: testEngine(), Storage: func(string) (TenantStorage, error) { return st, nil }})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/query?query=test_gauge&time="+sec(base), nil).WithContext(ctx)
	rec = httptest.NewRecorder()
	api.Handler().ServeHTTP(rec, req)
	if e := decode(t, rec); rec.Code != 499 || e.ErrorType != "canceled" {
		t.Errorf("canceled request: %d %s", rec.Code, rec.Body)
	}
}

// TestNotReady answers 503 like Prometheus before it is ready.
func TestNotReady(t *testing.T) {
	ready := false
	api := New(Options{Engine: testEngine(), Storage: func(string) (TenantStorage, error) { return nil, errors.New("no") }, Ready: func() bool { return ready }})
	rec := serve(api.Handler(), http.MethodGet, "/api/v1/labels", nil)
	if rec.Code != 503 || rec.Body.String() != "Service Unavailable" {
		t.Errorf("not ready: %d %q", rec.Code, rec.Body)
	}
	ready = true
	rec = serve(api.Handler(), http.MethodGet, "/api/v1/status/buildinfo", nil)
	if rec.Code != 200 {
		t.Errorf("ready: %d %q", rec.Code, rec.Body)
	}
}

// TestStorageErrors: a querier that fails surfaces as Prometheus would.
func TestStorageErrors(t *testing.T) {
	api := New(Options{Engine: testEngine(), Storage: func(string) (TenantStorage, error) { return failingStorage{}, nil }})
	for path, want := range map[string]string{
		"/api/v1/series?match[]=up":        `{"status":"error","errorType":"execution","error":"broken querier"}`,
		"/api/v1/labels":                   `{"status":"error","errorType":"execution","error":"broken querier"}`,
		"/api/v1/label/job/values":         `{"status":"error","errorType":"execution","error":"broken querier"}`,
		"/api/v1/query_exemplars?query=up": `{"status":"error","errorType":"execution","error":"broken exemplars"}`,
		"/api/v1/query?query=up&time=1":    `{"status":"error","errorType":"execution","error":"broken querier"}`,
	} {
		rec := serve(api.Handler(), http.MethodGet, path, nil)
		if rec.Code != 422 || rec.Body.String() != want {
			t.Errorf("%s: %d %s, want %s", path, rec.Code, rec.Body, want)
		}
	}
}

type failingStorage struct{}

func (failingStorage) Querier(int64, int64) (storage.Querier, error) {
	return nil, errors.New("broken querier")
}

func (failingStorage) ExemplarQuerier(context.Context) (storage.ExemplarQuerier, error) {
	return nil, errors.New("broken exemplars")
}

func TestOptionsValidate(t *testing.T) {
	err := Options{}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Engine is required") || !strings.Contains(err.Error(), "Storage is required") {
		t.Errorf("Validate() = %v, want both problems", err)
	}
	if err := (Options{Engine: testEngine(), Storage: func(string) (TenantStorage, error) { return nil, nil }}).Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	// An unvalidated API answers 500 instead of panicking.
	h := New(Options{}).Handler()
	for _, path := range []string{"/api/v1/query?query=1", "/api/v1/query_range?query=1&start=0&end=1&step=1", "/api/v1/labels", "/api/v1/series?match[]=up"} {
		rec := serve(h, http.MethodGet, path, nil)
		if e := decode(t, rec); rec.Code != 500 || e.ErrorType != "internal" {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}
