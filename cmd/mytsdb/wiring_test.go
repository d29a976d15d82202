package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"mytsdb/promapi"
	"mytsdb/storage"
	"mytsdb/storage/head"
)

// TestAPITenantHeadTimes: /api/v1/status/tsdb reports the head's time bounds
// (headStats.minTime, maxTime) through the apiTenant adapter exactly as
// Prometheus's own head does for the same appends, empty head included.
func TestAPITenantHeadTimes(t *testing.T) {
	db, err := storage.Open(storage.Options{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = 0
	ref, err := tsdb.Open(t.TempDir(), nil, nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	api := promapi.New(promapi.Options{Storage: func(tenant string) (promapi.TenantStorage, error) {
		tn, err := db.Tenant(tenant)
		if err != nil {
			return nil, err
		}
		return apiTenant{tn}, nil
	}})
	headStats := func() promapi.HeadStats {
		t.Helper()
		rec := httptest.NewRecorder()
		api.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/status/tsdb", nil))
		var body struct {
			Data promapi.TSDBStatus `json:"data"`
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
			t.Fatalf("status/tsdb: %d %s", rec.Code, rec.Body)
		}
		return body.Data.HeadStats
	}
	check := func(step string) {
		t.Helper()
		got, h := headStats(), ref.Head()
		if got.MinTime != h.MinTime() || got.MaxTime != h.MaxTime() || got.NumSeries != h.NumSeries() {
			t.Fatalf("%s: minTime %d maxTime %d numSeries %d; Prometheus's head: %d %d %d",
				step, got.MinTime, got.MaxTime, got.NumSeries, h.MinTime(), h.MaxTime(), h.NumSeries())
		}
	}
	check("empty head")
	for i, batch := range [][]struct {
		name string
		ts   int64
	}{
		{{"a", 5_000}, {"b", 7_000}},
		{{"c", 1_000}},
		{{"a", 9_000}, {"d", 3_000}},
	} {
		for _, app := range []promstorage.Appender{db.Default().Appender(context.Background()), ref.Appender(context.Background())} {
			for _, s := range batch {
				if _, err := app.Append(0, labels.FromStrings("__name__", "m", "s", s.name), s.ts, 1); err != nil {
					t.Fatal(err)
				}
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		check("after batch " + string(rune('1'+i)))
	}
}

// TestAPIUnknownTenantNotCreated: a read for a tenant that does not exist
// answers exactly as a freshly created, empty tenant does, without creating
// the tenant (no directory, nothing opened).
func TestAPIUnknownTenantNotCreated(t *testing.T) {
	dir := t.TempDir()
	db, err := storage.Open(storage.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := head.New(head.Options{MaxExemplars: -1})
	if err != nil {
		t.Fatal(err)
	}
	ls := &localStorage{db: db, noTenant: empty, logger: slog.New(slog.DiscardHandler)}
	defer ls.close(slog.New(slog.DiscardHandler))
	if _, err := db.Tenant("fresh"); err != nil {
		t.Fatal(err)
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	api := promapi.New(promapi.Options{Engine: engine, Storage: ls.apiStorage}).Handler()
	get := func(tenant, target string) string {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("X-Scope-OrgID", tenant)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		return fmt.Sprintf("%d %s", rec.Code, rec.Body)
	}
	for _, target := range []string{
		"/api/v1/query?query=up&time=1000",
		"/api/v1/query_range?query=count(up)&start=0&end=600&step=60",
		"/api/v1/series?match[]=up",
		"/api/v1/labels",
		"/api/v1/label/__name__/values",
		"/api/v1/query_exemplars?query=up&start=0&end=1000",
		"/api/v1/status/tsdb",
		"/api/v1/status/walreplay",
	} {
		if want, got := get("fresh", target), get("ghost", target); got != want {
			t.Errorf("%s: unknown tenant answers\n%s\nan empty tenant\n%s", target, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ghost")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a read created the tenant's directory (stat: %v)", err)
	}
	if slices.Contains(db.Tenants(), "ghost") {
		t.Errorf("a read opened the tenant: %v", db.Tenants())
	}
}
