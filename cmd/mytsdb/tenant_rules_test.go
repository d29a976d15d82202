package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tenantRules record from the tenant's own data (what "seven" recorded),
// so an alert that fires proves the rules query their tenant.
const tenantRules = `groups:
  - name: t
    rules:
      - record: seven
        expr: vector(7)
      - alert: SevenSeen
        expr: seven > 5
        labels:
          severity: page
        annotations:
          summary: "seven is {{ $value }}"
`

// TestTenantRulesMatchPrometheus: a tenant's rules (--rules.tenant-dir)
// are listed by /api/v1/rules and /api/v1/alerts for that tenant exactly
// as the real Prometheus lists the same file given as its rule_files (the
// same path, so the file fields agree); what they record lands in the
// tenant and not in the default tenant, whose rules stay the config's
// (none here); a tenant directory added later is loaded by /-/reload, and
// one named for the default tenant fails the reload, keeping the rules.
func TestTenantRulesMatchPrometheus(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "tenant-rules")
	acme := filepath.Join(rulesDir, "acme", "rules.yml")
	if err := os.MkdirAll(filepath.Dir(acme), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, acme, tenantRules)
	const global = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
	writeFile(t, filepath.Join(dir, "mytsdb.yml"), global)
	writeFile(t, filepath.Join(dir, "prometheus.yml"), global+"rule_files:\n  - "+acme+"\n")
	addr := freeAddr(t)
	mine := start(t, mytsdbBinary, dir, addr, "--config.file="+filepath.Join(dir, "mytsdb.yml"), "--web.listen-address="+addr,
		"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"), "--rules.tenant-dir="+rulesDir, "--web.enable-lifecycle")
	paddr := freeAddr(t)
	ref := start(t, prometheusBinary(t), dir, paddr, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--web.listen-address="+paddr,
		"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"))
	mine.waitReady(30 * time.Second)
	ref.waitReady(30 * time.Second)

	tenantGet := func(p *proc, tenant, path string) string {
		if p == ref {
			return do(t, "GET", p.url(path), nil).body
		}
		return do(t, "GET", p.url(path), nil, "X-Scope-OrgID", tenant).body
	}
	same := func(path, want string) {
		t.Helper()
		var a, b string
		for range 50 {
			a, b = maskTimes(tenantGet(mine, "acme", path)), maskTimes(tenantGet(ref, "", path))
			if a == b && strings.Contains(a, want) {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("GET %s as tenant acme differs from Prometheus's (or lacks %s):\nmytsdb:     %s\nprometheus: %s", path, want, a, b)
	}
	firing := `"state":"firing"`
	same("/api/v1/alerts", firing)
	same("/api/v1/rules", firing)
	same("/api/v1/rules?type=alert", firing)
	same("/api/v1/rules?type=record", `"name":"seven"`)
	same("/api/v1/rules?file[]="+acme, firing)

	// What the rules record stays in the tenant.
	q := "/api/v1/query?query=" + "count(seven)%20or%20count(ALERTS)"
	if got, want := tenantGet(mine, "acme", "/api/v1/query?query=seven"), `"value":[`; !strings.Contains(got, want) || !strings.Contains(got, `"__name__":"seven"`) {
		t.Fatalf("seven in tenant acme: %s", got)
	}
	if got := do(t, "GET", mine.url(q), nil).body; !strings.Contains(got, `"result":[]`) {
		t.Fatalf("the default tenant holds what acme's rules recorded: %s", got)
	}
	if got := do(t, "GET", mine.url("/api/v1/rules"), nil).body; got != `{"status":"success","data":{"groups":[]}}` {
		t.Fatalf("the default tenant lists rules it does not run: %s", got)
	}

	// A second tenant appears with a reload; a directory named for the
	// default tenant fails the reload and changes nothing.
	second := filepath.Join(rulesDir, "beta", "rules.yml")
	if err := os.MkdirAll(filepath.Dir(second), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, second, "groups:\n  - name: b\n    rules:\n      - record: eight\n        expr: vector(8)\n")
	if a := do(t, "POST", mine.url("/-/reload"), nil); a.code != http.StatusOK {
		t.Fatalf("reload: %d %s", a.code, a.body)
	}
	if got := tenantGet(mine, "beta", "/api/v1/rules"); !strings.Contains(got, `"name":"eight"`) || strings.Contains(got, "SevenSeen") {
		t.Fatalf("tenant beta's rules after the reload: %s", got)
	}
	if err := os.MkdirAll(filepath.Join(rulesDir, "default"), 0o755); err != nil {
		t.Fatal(err)
	}
	a := do(t, "POST", mine.url("/-/reload"), nil)
	// Prometheus's answer to a failed reload; the reason is in the log.
	if a.code != http.StatusInternalServerError || !strings.HasPrefix(a.body, "failed to reload config: ") ||
		!strings.Contains(mine.logText(), `tenant rule directory \"default\": the default tenant's rules are the config's rule_files`) {
		t.Fatalf("reload with a default tenant directory: %d %s", a.code, a.body)
	}
	if got := tenantGet(mine, "acme", "/api/v1/rules"); !strings.Contains(got, "SevenSeen") {
		t.Fatalf("acme's rules after a failed reload: %s", got)
	}
}
