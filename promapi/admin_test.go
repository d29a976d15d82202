package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// adminReq is one admin request and what it must answer and call. The
// answers of the parameter errors and the storage calls are compared with
// the real Prometheus in TestCompareAdminWithPrometheus; these cover what
// Prometheus has no counterpart for (tenants, storages without admin
// support, failing storages) and the disabled API.
type adminReq struct {
	name   string
	method string
	path   string
	header map[string]string
	code   int
	body   string
	calls  []string
}

func runAdminReqs(t *testing.T, api *API, rec *adminRecorder, reqs []adminReq) {
	t.Helper()
	for _, r := range reqs {
		t.Run(r.name, func(t *testing.T) {
			method := r.method
			if method == "" {
				method = http.MethodPost
			}
			h := http.Header{}
			for k, v := range r.header {
				h.Set(k, v)
			}
			res := serve(api.Handler(), method, r.path, h)
			if res.Code != r.code || res.Body.String() != r.body {
				t.Errorf("%s %s: %d %s\nwant %d %s", method, r.path, res.Code, res.Body, r.code, r.body)
			}
			if ct := res.Header().Get("Content-Type"); r.body != "" && strings.HasPrefix(r.body, "{") && ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if calls := rec.take(); !slices.Equal(calls, r.calls) {
				t.Errorf("calls:\n got  %q\n want %q", calls, r.calls)
			}
		})
	}
}

func TestAdminTenants(t *testing.T) {
	rec := &adminRecorder{}
	failing := errors.New("disk on fire")
	api := New(Options{
		Engine:      testEngine(),
		EnableAdmin: true,
		Storage: func(tenant string) (TenantStorage, error) {
			switch tenant {
			case "plain":
				return failingStorage{}, nil // no AdminStorage
			case "broken":
				return &recordingAdmin{TenantStorage: failingStorage{}, tenant: tenant, rec: rec, err: failing}, nil
			case "starting":
				return &recordingAdmin{TenantStorage: failingStorage{}, tenant: tenant, rec: rec, err: fmt.Errorf("head: %w", ErrTSDBNotReady)}, nil
			case "unopenable":
				return nil, errors.New("locked")
			}
			return &recordingAdmin{TenantStorage: failingStorage{}, tenant: tenant, rec: rec}, nil
		},
	})
	const del, clean = "/api/v1/admin/tsdb/delete_series", "/api/v1/admin/tsdb/clean_tombstones"
	org := func(id string) map[string]string { return map[string]string{TenantHeader: id} }
	runAdminReqs(t, api, rec, []adminReq{
		{name: "default tenant", path: del + "?match[]=up&start=1&end=2", code: 204,
			calls: []string{deleteCall("default", 1000, 2000, `__name__="up"`)}},
		{name: "tenant header", path: del + "?match[]=up&match[]=" + `{job="x"}`, header: org("acme"), code: 204,
			calls: []string{deleteCall("acme", defaultDeleteMint, defaultDeleteMaxt, `__name__="up"`), deleteCall("acme", defaultDeleteMint, defaultDeleteMaxt, `job="x"`)}},
		{name: "clean tombstones tenant", method: http.MethodPut, path: clean, header: org("acme"), code: 204,
			calls: []string{"acme: clean tombstones"}},
		{name: "invalid tenant", path: del + "?match[]=up", header: org("a/b"), code: 400,
			body: `{"status":"error","errorType":"bad_data","error":"invalid tenant ID \"a/b\": only characters [A-Za-z0-9_.-] are allowed"}`},
		{name: "invalid tenant clean", path: clean, header: org(".."), code: 400,
			body: `{"status":"error","errorType":"bad_data","error":"invalid tenant ID \"..\""}`},
		// Parameter errors come before the tenant, as everywhere else.
		{name: "parameter error before tenant", path: del + "?match[]={", header: org("a/b"), code: 400,
			body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"match[]\": 1:2: parse error: unexpected end of input inside braces"}`},
		{name: "no match before tenant", path: del, header: org("a/b"), code: 400,
			body: `{"status":"error","errorType":"bad_data","error":"no match[] parameter provided"}`},
		// ...except a later selector's: the earlier ones are deleted first.
		{name: "second selector error after tenant", path: del + "?match[]=up&match[]={", header: org("a/b"), code: 400,
			body: `{"status":"error","errorType":"bad_data","error":"invalid tenant ID \"a/b\": only characters [A-Za-z0-9_.-] are allowed"}`},
		{name: "second selector error", path: del + "?match[]=up&match[]={", header: org("acme"), code: 400,
			body:  `{"status":"error","errorType":"bad_data","error":"invalid parameter \"match[]\": 1:2: parse error: unexpected end of input inside braces"}`,
			calls: []string{deleteCall("acme", defaultDeleteMint, defaultDeleteMaxt, `__name__="up"`)}},
		// A storage without AdminStorage is a Prometheus whose TSDB is not ready.
		{name: "no admin storage", path: del + "?match[]=up", header: org("plain"), code: 500,
			body: `{"status":"error","errorType":"unavailable","error":"TSDB not ready"}`},
		{name: "no admin storage clean", path: clean, header: org("plain"), code: 500,
			body: `{"status":"error","errorType":"unavailable","error":"TSDB not ready"}`},
		{name: "storage error", path: del + "?match[]=up&match[]=down", header: org("broken"), code: 500,
			body:  `{"status":"error","errorType":"internal","error":"disk on fire"}`,
			calls: []string{deleteCall("broken", defaultDeleteMint, defaultDeleteMaxt, `__name__="up"`)}},
		{name: "storage error clean", path: clean, header: org("broken"), code: 500,
			body:  `{"status":"error","errorType":"internal","error":"disk on fire"}`,
			calls: []string{"broken: clean tombstones"}},
		{name: "storage not ready", path: del + "?match[]=up", header: org("starting"), code: 500,
			body:  `{"status":"error","errorType":"unavailable","error":"head: TSDB not ready"}`,
			calls: []string{deleteCall("starting", defaultDeleteMint, defaultDeleteMaxt, `__name__="up"`)}},
		{name: "storage not ready clean", path: clean, header: org("starting"), code: 500,
			body:  `{"status":"error","errorType":"unavailable","error":"head: TSDB not ready"}`,
			calls: []string{"starting: clean tombstones"}},
		{name: "storage unopenable", path: clean, header: org("unopenable"), code: 500,
			body: `{"status":"error","errorType":"internal","error":"opening storage of tenant \"unopenable\": locked"}`},
	})
}

func TestAdminSnapshot(t *testing.T) {
	rec := &adminRecorder{}
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	var fail error
	api := New(Options{
		Engine:      testEngine(),
		Storage:     func(string) (TenantStorage, error) { return failingStorage{}, nil },
		EnableAdmin: true,
		Now:         func() time.Time { return now },
		Snapshot: func(_ context.Context, name string, withHead bool) error {
			rec.add("snapshot %s withHead=%t", name, withHead)
			return fail
		},
	})
	const snap = "/api/v1/admin/tsdb/snapshot"
	for _, c := range []struct {
		path     string
		header   map[string]string
		withHead bool
	}{
		{snap, nil, true},
		{snap + "?skip_head=true", nil, false},
		{snap + "?skip_head=0", nil, true},
		// Every tenant is in the snapshot: the header is not even validated.
		{snap + "?skip_head=t", map[string]string{TenantHeader: "a/b"}, false},
	} {
		h := http.Header{}
		for k, v := range c.header {
			h.Set(k, v)
		}
		res := serve(api.Handler(), http.MethodPut, c.path, h)
		e := decode(t, res)
		var d snapshotData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if res.Code != 200 || !snapshotNameRE.MatchString(d.Name) || !strings.HasPrefix(d.Name, "20260304T040607Z-") {
			t.Errorf("%s: %d %s", c.path, res.Code, res.Body)
		}
		want := []string{fmt.Sprintf("snapshot %s withHead=%t", d.Name, c.withHead)}
		if calls := rec.take(); !slices.Equal(calls, want) {
			t.Errorf("%s: calls %q, want %q", c.path, calls, want)
		}
	}
	fail = errors.New("no space left")
	runAdminReqs(t, api, rec, []adminReq{
		{name: "bad skip_head", path: snap + "?skip_head=2", code: 400,
			body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"skip_head\": unable to parse boolean: strconv.ParseBool: parsing \"2\": invalid syntax"}`},
	})
	res := serve(api.Handler(), http.MethodPost, snap, nil)
	if want := `{"status":"error","errorType":"internal","error":"create snapshot: no space left"}`; res.Code != 500 || res.Body.String() != want {
		t.Errorf("failing snapshot: %d %s", res.Code, res.Body)
	}
	if calls := rec.take(); len(calls) != 1 {
		t.Errorf("failing snapshot: calls %q", calls)
	}
	fail = fmt.Errorf("head: %w", ErrTSDBNotReady)
	res = serve(api.Handler(), http.MethodPost, snap, nil)
	if want := `{"status":"error","errorType":"unavailable","error":"create snapshot: head: TSDB not ready"}`; res.Code != 500 || res.Body.String() != want {
		t.Errorf("snapshot not ready: %d %s", res.Code, res.Body)
	}
	rec.take()

	// Without Options.Snapshot.
	api = New(Options{Engine: testEngine(), Storage: func(string) (TenantStorage, error) { return failingStorage{}, nil }, EnableAdmin: true})
	runAdminReqs(t, api, rec, []adminReq{
		{name: "no snapshot func", path: snap, code: 500,
			body: `{"status":"error","errorType":"internal","error":"create snapshot: snapshots are not supported by this server"}`},
		{name: "no snapshot func bad skip_head", path: snap + "?skip_head=x", code: 400,
			body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"skip_head\": unable to parse boolean: strconv.ParseBool: parsing \"x\": invalid syntax"}`},
	})
}

// TestAdminDisabled: without EnableAdmin nothing reaches the storage or the
// snapshot function, whatever the request.
func TestAdminDisabled(t *testing.T) {
	rec := &adminRecorder{}
	api := New(Options{
		Engine: testEngine(),
		Storage: func(tenant string) (TenantStorage, error) {
			return &recordingAdmin{TenantStorage: failingStorage{}, tenant: tenant, rec: rec}, nil
		},
		Snapshot: func(context.Context, string, bool) error {
			rec.add("snapshot")
			return nil
		},
	})
	const disabled = `{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}`
	var reqs []adminReq
	for _, p := range []string{"delete_series?match[]=up", "delete_series", "clean_tombstones", "snapshot", "snapshot?skip_head=x"} {
		for _, m := range []string{http.MethodPost, http.MethodPut} {
			reqs = append(reqs, adminReq{name: m + " " + p, method: m, path: "/api/v1/admin/tsdb/" + p, code: 500, body: disabled})
		}
	}
	reqs = append(reqs, adminReq{name: "GET", method: http.MethodGet, path: "/api/v1/admin/tsdb/snapshot", code: 405, body: "Method Not Allowed\n"})
	runAdminReqs(t, api, rec, reqs)
}

// TestAdminNotReady: before the server is ready the admin endpoints answer
// 503 like every other, and call nothing.
func TestAdminNotReady(t *testing.T) {
	rec := &adminRecorder{}
	api := New(Options{
		Engine:      testEngine(),
		EnableAdmin: true,
		Ready:       func() bool { return false },
		Storage: func(tenant string) (TenantStorage, error) {
			return &recordingAdmin{TenantStorage: failingStorage{}, tenant: tenant, rec: rec}, nil
		},
		Snapshot: func(context.Context, string, bool) error {
			rec.add("snapshot")
			return nil
		},
	})
	runAdminReqs(t, api, rec, []adminReq{
		{name: "delete", path: "/api/v1/admin/tsdb/delete_series?match[]=up", code: 503, body: "Service Unavailable"},
		{name: "clean", path: "/api/v1/admin/tsdb/clean_tombstones", code: 503, body: "Service Unavailable"},
		{name: "snapshot", path: "/api/v1/admin/tsdb/snapshot", code: 503, body: "Service Unavailable"},
	})
}
