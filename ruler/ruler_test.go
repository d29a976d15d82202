package ruler

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/promql"

	"mytsdb/storage"
)

func newTestRuler(t *testing.T) (*Ruler, *storage.DB, *promql.Engine) {
	t.Helper()
	return newTestRulerWith(t, func(*Options, *storage.DB) {})
}

// newTestRulerWith is newTestRuler with options changed by set, which is
// given the storage.
func newTestRulerWith(t *testing.T, set func(*Options, *storage.DB)) (*Ruler, *storage.DB, *promql.Engine) {
	t.Helper()
	db, err := storage.Open(storage.Options{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	u, _ := url.Parse("http://example:9090")
	o := Options{Engine: engine, Appendable: db.Default(), Queryable: db.Default(), ExternalURL: u,
		OutageTolerance: time.Hour, ForGracePeriod: 10 * time.Minute, ResendDelay: time.Minute, MaxConcurrentEvals: 4}
	set(&o, db)
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r, db, engine
}

func rulesConfig(t *testing.T, rules string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	c := config.DefaultConfig
	c.GlobalConfig.EvaluationInterval = model.Duration(100 * time.Millisecond)
	c.RuleFiles = []string{filepath.Join(dir, "*.yml")}
	return &c
}

// A recording rule writes back into the storage it was given, readable
// through the same engine; Stop returns and evaluation ends.
func TestRecordingRuleWritesBack(t *testing.T) {
	r, db, engine := newTestRuler(t)
	c := rulesConfig(t, "groups:\n  - name: g\n    rules:\n      - record: seven\n        expr: vector(7)\n")
	for _, apply := range []func(*config.Config) error{r.ApplyNotifier, r.ApplyNotifierSD, r.ApplyRules} {
		if err := apply(c); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.RuleGroups()); n != 1 {
		t.Fatalf("%d rule groups loaded, want 1", n)
	}
	r.Run()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q, err := engine.NewInstantQuery(context.Background(), db.Default(), nil, "seven", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		res := q.Exec(context.Background())
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if v, err := res.Vector(); err == nil && len(v) == 1 && v[0].F == 7 && v[0].Metric.String() == `{__name__="seven"}` {
			q.Close()
			break
		}
		q.Close()
		if time.Now().After(deadline) {
			t.Fatalf("recording rule output not found: %v", res.Value)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { r.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
}

// Rules loaded but never run (a start that fails after the first config)
// must not keep Stop waiting.
func TestStopWithoutRun(t *testing.T) {
	r, _, _ := newTestRuler(t)
	if err := r.ApplyRules(rulesConfig(t, "groups:\n  - name: g\n    rules:\n      - record: one\n        expr: vector(1)\n")); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { r.Stop(); r.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop without Run did not return")
	}
}

// A bad glob fails with Prometheus's reloader message; a broken file keeps
// the loaded rules.
func TestApplyRulesErrors(t *testing.T) {
	r, _, _ := newTestRuler(t)
	t.Cleanup(r.Stop)
	good := rulesConfig(t, "groups:\n  - name: g\n    rules:\n      - record: one\n        expr: vector(1)\n")
	if err := r.ApplyRules(good); err != nil {
		t.Fatal(err)
	}
	bad := *good
	bad.RuleFiles = []string{"["}
	if err := r.ApplyRules(&bad); err == nil || err.Error() != "error retrieving rule files for [: syntax error in pattern" {
		t.Fatalf("bad pattern: %v", err)
	}
	broken := rulesConfig(t, "groups:\n  - name: h\n    rules:\n      - record: one\n        expr: sum(\n")
	if err := r.ApplyRules(broken); err == nil || err.Error() != "error loading rules, previous rule set restored" {
		t.Fatalf("broken file: %v", err)
	}
	if gs := r.RuleGroups(); len(gs) != 1 || gs[0].Name() != "g" {
		t.Fatalf("groups after a failed load: %v", gs)
	}
}

func TestNewRequiresOptions(t *testing.T) {
	_, err := New(Options{})
	if err == nil {
		t.Fatal("New accepted empty options")
	}
	for _, want := range []string{"Engine", "Appendable", "Queryable", "ExternalURL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// Tenant rules (TenantDir): each directory's rules run over that tenant,
// a directory that is no valid tenant ID or is named for the default
// tenant is an error that leaves the other tenants loaded, a directory
// removed stops its rules, and Stop without Run returns.
func TestTenantRules(t *testing.T) {
	dir := t.TempDir()
	r, _, _ := newTestRulerWith(t, func(o *Options, db *storage.DB) {
		o.TenantDir, o.DefaultTenant = dir, storage.DefaultTenant
		o.Tenant = func(id string) (TenantStorage, error) { return db.Tenant(id) }
	})
	write := func(tenant, rules string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, tenant), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, tenant, "r.yaml"), []byte(rules), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a", "groups:\n  - name: ga\n    rules:\n      - record: one\n        expr: vector(1)\n")
	write("b", "groups:\n  - name: gb\n    rules:\n      - record: two\n        expr: vector(2)\n")
	write("bad id", "groups: []\n")
	write(storage.DefaultTenant, "groups: []\n")
	c := config.DefaultConfig
	c.GlobalConfig.EvaluationInterval = model.Duration(100 * time.Millisecond)
	err := r.ApplyRules(&c)
	if err == nil || !strings.Contains(err.Error(), `tenant rule directory "bad id"`) || !strings.Contains(err.Error(), `tenant rule directory "default"`) {
		t.Fatalf("ApplyRules: %v, want both bad directories named", err)
	}
	for id, want := range map[string]string{"a": "ga", "b": "gb"} {
		m := r.Tenant(id)
		if m == nil || len(m.RuleGroups()) != 1 || m.RuleGroups()[0].Name() != want {
			t.Fatalf("tenant %s: manager %v", id, m)
		}
	}
	if len(r.RuleGroups()) != 0 {
		t.Fatalf("the default tenant runs %d groups, want none", len(r.RuleGroups()))
	}
	for _, d := range []string{"bad id", storage.DefaultTenant, "b"} {
		if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.ApplyRules(&c); err != nil {
		t.Fatal(err)
	}
	if r.Tenant("b") != nil || r.Tenant("a") == nil {
		t.Fatalf("after removing b: a=%v b=%v", r.Tenant("a"), r.Tenant("b"))
	}
	stopped := make(chan struct{})
	go func() { r.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop without Run did not return with tenant rules loaded")
	}
}
