package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// alertmanagerBinary returns the real Alertmanager (make ref builds it) or
// fails the test.
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ALERTMANAGER_BINARY")
	if p == "" {
		p = filepath.Join("..", "..", ".cache", "ref", "alertmanager-v0.34.1", "alertmanager")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("alertmanager binary not found at %s (run make ref): %v", abs, err)
	}
	return abs
}

// promtoolBinary returns the reference promtool or fails the test.
func promtoolBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PROMTOOL_BINARY")
	if p == "" {
		p = filepath.Join(filepath.Dir(prometheusBinary(t)), "promtool")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("reference promtool not found at %s (run make ref): %v", p, err)
	}
	return p
}

// promtool runs the reference promtool in dir and returns its exit code and output.
func promtool(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(promtoolBinary(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// startAlertmanager runs a real Alertmanager on loopback with one receiver
// that sends nowhere: the tests read what it received from /api/v2/alerts.
func startAlertmanager(t *testing.T) *proc {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	writeFile(t, cfg, "route:\n  receiver: sink\nreceivers:\n  - name: sink\n")
	addr := freeAddr(t)
	p := start(t, alertmanagerBinary(t), dir, addr, "--config.file="+cfg,
		"--storage.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr,
		"--cluster.listen-address=")
	p.waitReady(30 * time.Second)
	return p
}

// amAlert is what the tests compare of an alert Alertmanager holds.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

func amAlerts(t *testing.T, am *proc) []amAlert {
	t.Helper()
	resp, err := http.Get(am.url("/api/v2/alerts"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var as []amAlert
	if err := json.NewDecoder(resp.Body).Decode(&as); err != nil {
		t.Fatal(err)
	}
	sort.Slice(as, func(i, j int) bool { return as[i].Fingerprint < as[j].Fingerprint })
	return as
}

// toggleExporter serves cond_value with the value the test sets.
func toggleExporter(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	v := &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE cond_value gauge\ncond_value{kind=\"a\"} %d\ncond_value{kind=\"b\"} %d\n", v.Load(), 2*v.Load())
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), v
}

const testRules = `groups:
  - name: cond
    interval: 1s
    rules:
      - record: job:cond_value:sum
        expr: sum by (job) (cond_value)
      - alert: CondHigh
        expr: cond_value > 0
        for: 2s
        labels:
          severity: page
        annotations:
          summary: 'value {{ $value }} on {{ $labels.kind }}'
          link: '{{ $externalURL }}'
  - name: slow
    limit: 10
    rules:
      - alert: AlwaysPending
        expr: vector(1)
        for: 1h
        keep_firing_for: 5m
      - record: two
        expr: vector(2)
`

func rulesConfig(target, rulesFile, am string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
  external_labels:
    dc: eu1
rule_files:
  - %s
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: cond
    static_configs:
      - targets: [%q]
`, rulesFile, am, target)
}

// getBody returns the status and body of a GET.
func getBody(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// timesRe matches what differs between two servers evaluating the same rules
// at different instants: evaluation timestamps and durations.
var timesRe = regexp.MustCompile(`"(lastEvaluation|activeAt|keepFiringSince)":"[^"]*"|"evaluationTime":[-0-9.e]+`)

func maskTimes(s string) string {
	return timesRe.ReplaceAllStringFunc(s, func(m string) string { return m[:strings.Index(m, ":")] + `:"T"` })
}

// sameAnswers waits until path answers the same (times masked) on every
// server: the servers evaluate on their own schedules, so a state change
// reaches them a moment apart.
func sameAnswers(t *testing.T, path string, servers ...*proc) string {
	t.Helper()
	var bodies []string
	for range 50 {
		bodies = bodies[:0]
		for _, p := range servers {
			code, body := getBody(t, p.url(path))
			bodies = append(bodies, fmt.Sprintf("%d %s", code, maskTimes(body)))
		}
		if bodies[0] == bodies[1] {
			return bodies[0]
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("GET %s differs:\nmytsdb:     %s\nprometheus: %s", path, bodies[0], bodies[1])
	return ""
}

// TestRulesAndAlertsMatchPrometheus runs mytsdb and the real Prometheus on
// the same rule file, each sending to its own real Alertmanager: the alert
// arrives with the same labels, annotations and generator URL, resolves when
// its condition ends, and /api/v1/rules (with every filter and pagination),
// /api/v1/alerts, /api/v1/alertmanagers and the recording rule's output are
// the same.
func TestRulesAndAlertsMatchPrometheus(t *testing.T) {
	target, cond := toggleExporter(t)
	cond.Store(1)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.yml"), testRules)
	var servers, ams []*proc
	for i, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		am := startAlertmanager(t)
		ams = append(ams, am)
		cfg := filepath.Join(dir, fmt.Sprintf("prometheus%d.yml", i))
		writeFile(t, cfg, rulesConfig(target, "rules.yml", am.addr))
		addr := freeAddr(t)
		servers = append(servers, start(t, bin, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
			"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"),
			"--web.external-url=http://prom.example:9090/", "--rules.alert.resend-delay=1s"))
	}
	for _, p := range servers {
		p.waitReady(30 * time.Second)
	}

	// The alert fires and reaches each Alertmanager the same way.
	var got [2][]amAlert
	deadline := time.Now().Add(20 * time.Second)
	for i := range ams {
		for {
			got[i] = amAlerts(t, ams[i])
			if len(got[i]) == 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if len(got[0]) != 2 {
		t.Fatalf("mytsdb's Alertmanager holds %+v, want the two CondHigh alerts", got[0])
	}
	a, b := fmt.Sprintf("%+v", got[0]), fmt.Sprintf("%+v", got[1])
	if a != b {
		t.Fatalf("alerts at Alertmanager differ:\nmytsdb:     %s\nprometheus: %s", a, b)
	}
	if w := "value 2 on b"; got[0][0].Annotations["summary"] != w && got[0][1].Annotations["summary"] != w {
		t.Errorf("annotations not expanded: %+v", got[0])
	}
	if got[0][0].Labels["dc"] != "eu1" || !strings.HasPrefix(got[0][0].GeneratorURL, "http://prom.example:9090/graph?") {
		t.Errorf("external labels or generator URL missing: %+v", got[0][0])
	}

	// Both firing: the answers carry the rules and their alerts.
	if body := sameAnswers(t, "/api/v1/rules", servers...); !strings.Contains(body, `"state":"firing","name":"CondHigh"`) ||
		!strings.Contains(body, `"name":"AlwaysPending"`) || !strings.Contains(body, `"value":"2e+00"`) {
		t.Fatalf("/api/v1/rules lacks the firing rule: %s", body)
	}
	// promtool test rules, given the series mytsdb scraped, expects exactly
	// the alerts mytsdb sent (less the external labels the notifier adds).
	var unit strings.Builder
	fmt.Fprintf(&unit, "rule_files: [rules.yml]\nevaluation_interval: 1s\ntests:\n  - interval: 1s\n    external_url: http://prom.example:9090\n    input_series:\n")
	fmt.Fprintf(&unit, "      - series: 'cond_value{kind=\"a\",job=\"cond\",instance=\"%s\"}'\n        values: 1x10\n", target)
	fmt.Fprintf(&unit, "      - series: 'cond_value{kind=\"b\",job=\"cond\",instance=\"%s\"}'\n        values: 2x10\n", target)
	fmt.Fprintf(&unit, "    alert_rule_test:\n      - eval_time: 5s\n        alertname: CondHigh\n        exp_alerts:\n")
	for _, a := range got[0] {
		delete(a.Labels, "dc")
		l, _ := json.Marshal(a.Labels)
		an, _ := json.Marshal(a.Annotations)
		fmt.Fprintf(&unit, "          - exp_labels: %s\n            exp_annotations: %s\n", l, an)
	}
	writeFile(t, filepath.Join(dir, "rules_test.yml"), unit.String())
	if code, out := promtool(t, dir, "test", "rules", "rules_test.yml"); code != 0 {
		t.Errorf("promtool test rules disagrees with mytsdb's alerts (exit %d):\n%s\n%s", code, out, unit.String())
	}

	for _, path := range []string{
		"/api/v1/alerts",
		"/api/v1/rules?type=alert",
		"/api/v1/rules?type=record",
		"/api/v1/rules?exclude_alerts=true",
		"/api/v1/rules?rule_group[]=slow",
		"/api/v1/rules?rule_name[]=CondHigh&rule_name[]=two",
		"/api/v1/rules?file[]=rules.yml",
		"/api/v1/rules?file[]=other.yml",
		"/api/v1/rules?match[]=" + url.QueryEscape(`{severity="page"}`),
		"/api/v1/rules?group_limit=1",
		"/api/v1/rules?group_limit=1&group_next_token=nope",
		"/api/v1/rules?type=bogus",
	} {
		sameAnswers(t, path, servers...)
	}
	// Rules run on the default tenant: another tenant's request sees no
	// groups (as Prometheus answers a filter matching none) and no alerts;
	// the default tenant named explicitly sees them; a bad ID is refused.
	tenantGet := func(path, tenant string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, servers[0].url(path), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Scope-OrgID", tenant)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, noGroups := getBody(t, servers[1].url("/api/v1/rules?file[]=other.yml"))
	if code, body := tenantGet("/api/v1/rules", "team-a"); code != 200 || body != noGroups {
		t.Errorf("rules of another tenant: %d %s, want %s", code, body, noGroups)
	}
	if code, body := tenantGet("/api/v1/alerts", "team-a"); code != 200 || body != `{"status":"success","data":{"alerts":[]}}` {
		t.Errorf("alerts of another tenant: %d %s", code, body)
	}
	if code, body := tenantGet("/api/v1/rules?type=record", "default"); code != 200 || !strings.Contains(body, `"name":"two"`) {
		t.Errorf("rules of the default tenant named: %s", body)
	}
	if code, body := tenantGet("/api/v1/alerts", "../x"); code != 400 || !strings.Contains(body, `"errorType":"bad_data"`) {
		t.Errorf("alerts of a bad tenant ID: %d %s", code, body)
	}
	// The second page, through the token the first page gave.
	var page struct {
		Data struct {
			Token string `json:"groupNextToken"`
		} `json:"data"`
	}
	_, body := getBody(t, servers[0].url("/api/v1/rules?group_limit=1"))
	if err := json.Unmarshal([]byte(body), &page); err != nil || page.Data.Token == "" {
		t.Fatalf("no groupNextToken in %s: %v", body, err)
	}
	sameAnswers(t, "/api/v1/rules?group_limit=1&group_next_token="+page.Data.Token, servers...)

	// Alertmanagers: the same once each server's own Alertmanager address is
	// named alike.
	for i, p := range servers {
		_, body := getBody(t, p.url("/api/v1/alertmanagers"))
		want := `{"status":"success","data":{"activeAlertmanagers":[{"url":"http://` + ams[i].addr + `/api/v2/alerts"}],"droppedAlertmanagers":[]}}`
		if body != want {
			t.Errorf("server %d /api/v1/alertmanagers: %s, want %s", i, body, want)
		}
	}

	// Recording rule output, ALERTS and ALERTS_FOR_STATE: the same series
	// and values.
	for _, q := range []string{"job:cond_value:sum", "two", `ALERTS`, `count by (alertname, kind) (ALERTS_FOR_STATE)`} {
		var res [2]string
		for range 50 {
			for i, p := range servers {
				d, err := p.query(q, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				var rows []string
				for _, r := range d.Result {
					rows = append(rows, labelKey(r.Metric)+"="+fmt.Sprint(r.Value[1]))
				}
				sort.Strings(rows)
				res[i] = strings.Join(rows, " ")
			}
			if res[0] == res[1] && res[0] != "" {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if res[0] != res[1] || res[0] == "" {
			t.Errorf("%s: mytsdb %q, prometheus %q", q, res[0], res[1])
		}
	}

	// The condition ends: the alerts resolve at both Alertmanagers.
	cond.Store(0)
	for i, am := range ams {
		deadline := time.Now().Add(20 * time.Second)
		for len(amAlerts(t, am)) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("server %d's alerts did not resolve: %+v", i, amAlerts(t, am))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	sameAnswers(t, "/api/v1/alerts", servers...)
	sameAnswers(t, "/api/v1/rules?type=alert", servers...)

	// The rule manager's and the notifier's metrics: the same series (names
	// and labels, the Alertmanager address aside) as Prometheus's.
	var series [2]string
	for i, p := range servers {
		var rows []string
		for _, line := range strings.Split(metricsText(t, p), "\n") {
			if strings.HasPrefix(line, "prometheus_rule_") || strings.HasPrefix(line, "prometheus_notifications_") {
				name := line[:strings.LastIndexByte(line, ' ')]
				rows = append(rows, strings.ReplaceAll(name, ams[i].addr, "AM"))
			}
		}
		sort.Strings(rows)
		series[i] = strings.Join(rows, "\n")
	}
	if series[0] != series[1] || !strings.Contains(series[0], `prometheus_notifications_sent_total{alertmanager="http://AM/api/v2/alerts"}`) {
		t.Errorf("rule and notifier metrics differ:\nmytsdb:\n%s\nprometheus:\n%s", series[0], series[1])
	}
}

// logErr returns the err= value (logfmt-quoted) of the last log line whose
// msg starts with msg.
func logErr(t *testing.T, log, msg string) string {
	t.Helper()
	re := regexp.MustCompile(`msg="` + regexp.QuoteMeta(msg) + `[^\n]*? err="((?:[^"\\]|\\.)*)"`)
	all := re.FindAllStringSubmatch(log, -1)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1][1]
}

// TestRuleFileErrorsMatchPrometheus: a broken rule file stops the start with
// exit code 2 and the same error as Prometheus's; on reload (/-/reload and
// SIGHUP) it fails the reload with the same answer and error, sets
// prometheus_config_last_reload_successful to 0 and keeps the old rules
// running; a fixed file is then loaded.
func TestRuleFileErrorsMatchPrometheus(t *testing.T) {
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yml")
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, "global:\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\n")
	const good = "groups:\n  - name: g\n    rules:\n      - record: one\n        expr: vector(1)\n"
	broken := map[string]string{
		"yaml":      "groups:\n  - name: g\n    rules: [\n",
		"promql":    "groups:\n  - name: g\n    rules:\n      - record: one\n        expr: sum(\n",
		"field":     "groups:\n  - name: g\n    no_such_field: 1\n    rules: []\n",
		"duplicate": "groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n",
		"template":  "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: vector(1)\n        annotations:\n          a: '{{ .Nope'\n",
		"both":      "groups:\n  - name: g\n    rules:\n      - record: one\n        alert: two\n        expr: vector(1)\n",
	}
	names := []string{"yaml", "promql", "field", "duplicate", "template", "both"}

	// At start.
	bins := []string{mytsdbBinary, prometheusBinary(t)}
	for _, name := range names {
		writeFile(t, rulesPath, broken[name])
		var errs [2]string
		for i, bin := range bins {
			addr := freeAddr(t)
			p := start(t, bin, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
				"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"))
			select {
			case <-p.done:
			case <-time.After(20 * time.Second):
				t.Fatalf("%s: %s started with a broken rule file", name, filepath.Base(bin))
			}
			if code := p.cmd.ProcessState.ExitCode(); code != 2 {
				t.Errorf("%s: %s exited with %d, want 2", name, filepath.Base(bin), code)
			}
			errs[i] = logErr(t, p.logText(), "Error loading rule file patterns from config")
		}
		if errs[0] == "" || errs[0] != errs[1] {
			t.Errorf("%s at start: mytsdb logged %q, prometheus %q", name, errs[0], errs[1])
		}
		// promtool refuses what mytsdb refuses.
		if code, out := promtool(t, dir, "check", "rules", "rules.yml"); code != 1 {
			t.Errorf("%s: promtool check rules exited %d: %s", name, code, out)
		}
	}
	writeFile(t, rulesPath, good)
	if code, out := promtool(t, dir, "check", "rules", "rules.yml"); code != 0 {
		t.Errorf("promtool check rules refuses the good file: %d %s", code, out)
	}

	// On reload.
	writeFile(t, rulesPath, good)
	var servers []*proc
	for _, bin := range bins {
		addr := freeAddr(t)
		servers = append(servers, start(t, bin, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
			"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"), "--web.enable-lifecycle"))
	}
	for _, p := range servers {
		p.waitReady(30 * time.Second)
		p.waitQueryValue("one", "1", 20*time.Second)
	}
	before := sameAnswers(t, "/api/v1/rules", servers...)
	for _, name := range names {
		writeFile(t, rulesPath, broken[name])
		var answers, errs [2]string
		for i, p := range servers {
			code, body := post(t, p.url("/-/reload"))
			answers[i] = fmt.Sprintf("%d %s", code, body)
			// The rule manager logs the file's own error; the reload
			// reports a summary.
			errs[i] = logErr(t, p.logText(), "loading groups failed") + " / " + logErr(t, p.logText(), "Failed to apply configuration")
		}
		if answers[0] != answers[1] || !strings.HasPrefix(answers[0], "500 ") {
			t.Errorf("%s: /-/reload answered %q by mytsdb, %q by prometheus", name, answers[0], answers[1])
		}
		if strings.HasPrefix(errs[0], " / ") || errs[0] != errs[1] {
			t.Errorf("%s on reload: mytsdb logged %q, prometheus %q", name, errs[0], errs[1])
		}
		if !strings.Contains(metricsText(t, servers[0]), "prometheus_config_last_reload_successful 0") {
			t.Errorf("%s: prometheus_config_last_reload_successful is not 0 after the failed reload", name)
		}
		if after := sameAnswers(t, "/api/v1/rules", servers...); after != before {
			t.Errorf("%s: the rules changed after a failed reload:\n%s\nwas\n%s", name, after, before)
		}
	}
	// The old rule still evaluates: a fresh sample after the failed reloads.
	time.Sleep(1500 * time.Millisecond)
	if d, err := servers[0].query("count_over_time(one[1s])", time.Time{}); err != nil || len(d.Result) != 1 {
		t.Fatalf("the old rule stopped evaluating: %v %+v", err, d)
	}
	// A fixed file, by SIGHUP.
	writeFile(t, rulesPath, "groups:\n  - name: g\n    rules:\n      - record: three\n        expr: vector(3)\n")
	for _, p := range servers {
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		p.waitQueryValue("three", "3", 20*time.Second)
	}
	if !strings.Contains(metricsText(t, servers[0]), "prometheus_config_last_reload_successful 1") {
		t.Error("prometheus_config_last_reload_successful is not 1 after the good reload")
	}
	sameAnswers(t, "/api/v1/rules", servers...)
}

// pendingSince waits for the single alert of /api/v1/alerts to be pending
// and returns its activeAt.
func pendingSince(t *testing.T, p *proc) time.Time {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := getBody(t, p.url("/api/v1/alerts"))
		var r struct {
			Data struct {
				Alerts []struct {
					State    string    `json:"state"`
					ActiveAt time.Time `json:"activeAt"`
				} `json:"alerts"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if len(r.Data.Alerts) == 1 && r.Data.Alerts[0].State == "pending" {
			return r.Data.Alerts[0].ActiveAt
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pending alert: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAlertForStateRestored: a pending alert's "for" state survives a
// restart as the upstream rule manager restores it from ALERTS_FOR_STATE
// (its activeAt moved forward by the outage), and is not restored when the
// outage exceeds --rules.alert.for-outage-tolerance.
func TestAlertForStateRestored(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.yml"), "groups:\n  - name: g\n    rules:\n      - alert: Slow\n        expr: vector(1)\n        for: 1h\n")
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, "global:\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\n")
	data := filepath.Join(t.TempDir(), "data")
	run := func(args ...string) (*proc, time.Time) {
		addr := freeAddr(t)
		p := start(t, mytsdbBinary, dir, addr, append([]string{"--config.file=" + cfg, "--web.listen-address=" + addr,
			"--storage.tsdb.path=" + data}, args...)...)
		p.waitReady(30 * time.Second)
		return p, time.Now()
	}
	stop := func(p *proc) time.Time {
		stopGracefully(t, p)
		return time.Now()
	}

	p, _ := run()
	first := pendingSince(t, p)
	time.Sleep(6 * time.Second) // pending long enough that a fresh activeAt is told apart
	killedAt := stop(p)
	time.Sleep(2 * time.Second)
	p, readyAt := run()
	// Upstream restores after the second evaluation: until then activeAt is
	// a fresh one.
	time.Sleep(3 * time.Second)
	restored := pendingSince(t, p)
	// Upstream shifts activeAt by the outage: from the last ALERTS_FOR_STATE
	// sample (up to an interval before the stop; its value in whole seconds)
	// to the restore (up to two intervals after the start).
	outage := readyAt.Sub(killedAt)
	if shift := restored.Sub(first); shift < outage-1500*time.Millisecond || shift > outage+3500*time.Millisecond {
		t.Fatalf("activeAt %s before the restart, %s after (shift %s); want it shifted by about the outage %s",
			first, restored, shift, outage)
	}

	stop(p)
	time.Sleep(3 * time.Second)
	p, readyAt = run("--rules.alert.for-outage-tolerance=1s")
	time.Sleep(3 * time.Second)
	if fresh := pendingSince(t, p); fresh.Before(readyAt.Add(-500*time.Millisecond)) || fresh.After(readyAt.Add(2500*time.Millisecond)) {
		t.Fatalf("after an outage longer than the tolerance, activeAt is %s; want a fresh one near %s", fresh, readyAt)
	}
}

// TestAlertmanagerDiscoveryMatchesPrometheus: Alertmanagers found through
// file SD, with relabelling that drops one and a path prefix, are listed by
// /api/v1/alertmanagers exactly as Prometheus lists them, also after a
// reload that changes the discovered set; /api/v1/features shows
// concurrent-rule-eval as Prometheus does.
func TestAlertmanagerDiscoveryMatchesPrometheus(t *testing.T) {
	dir := t.TempDir()
	sd := filepath.Join(dir, "am.json")
	writeFile(t, sd, `[{"targets":["127.0.0.1:1","127.0.0.1:2","127.0.0.1:3"],"labels":{"env":"prod"}}]`)
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, `alerting:
  alert_relabel_configs:
    - target_label: via
      replacement: relabel
  alertmanagers:
    - path_prefix: /am
      file_sd_configs:
        - files: [am.json]
          refresh_interval: 1s
      relabel_configs:
        - source_labels: [__address__]
          regex: 127.0.0.1:2
          action: drop
    - scheme: https
      static_configs:
        - targets: ["127.0.0.1:4"]
`)
	var servers []*proc
	for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		addr := freeAddr(t)
		servers = append(servers, start(t, bin, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
			"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"), "--web.enable-lifecycle",
			"--enable-feature=concurrent-rule-eval", "--rules.max-concurrent-evals=2"))
	}
	for _, p := range servers {
		p.waitReady(30 * time.Second)
	}
	// The rule manager reports the feature as Prometheus's does.
	if body := sameAnswers(t, "/api/v1/features", servers...); !strings.Contains(body, `"concurrent_rule_eval":true`) {
		t.Errorf("/api/v1/features with concurrent-rule-eval: %s", body)
	}
	// Discovery runs in the background: wait for its first result.
	waitFor := func(sub string) string {
		deadline := time.Now().Add(15 * time.Second)
		for {
			body := sameAnswers(t, "/api/v1/alertmanagers", servers...)
			if strings.Contains(body, sub) || time.Now().After(deadline) {
				return body
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	body := waitFor("127.0.0.1:1/")
	for _, want := range []string{`{"url":"http://127.0.0.1:1/am/api/v2/alerts"}`, `"droppedAlertmanagers":[{"url":"http://127.0.0.1:2/am/api/v2/alerts"}]`, `{"url":"https://127.0.0.1:4/api/v2/alerts"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("/api/v1/alertmanagers lacks %s: %s", want, body)
		}
	}
	// The discovered set changes, and the config by reload.
	writeFile(t, sd, `[{"targets":["127.0.0.1:2","127.0.0.1:5"]}]`)
	for _, p := range servers {
		if code, body := post(t, p.url("/-/reload")); code != http.StatusOK {
			t.Fatalf("reload: %d %s", code, body)
		}
	}
	body = waitFor("127.0.0.1:5/")
	if !strings.Contains(body, `{"url":"http://127.0.0.1:5/am/api/v2/alerts"}`) || strings.Contains(body, "127.0.0.1:1/") {
		t.Errorf("/api/v1/alertmanagers after the SD change: %s", body)
	}
}

// TestRuleFileAutoReload: with --config.auto-reload a change to a rule file
// alone (the config file unchanged) is picked up, as the checksum covers the
// rule files, in mytsdb as in Prometheus.
func TestRuleFileAutoReload(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.yml"), "groups:\n  - name: g\n    rules:\n      - record: one\n        expr: vector(1)\n")
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, "global:\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\n")
	var servers []*proc
	for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		addr := freeAddr(t)
		servers = append(servers, start(t, bin, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
			"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"), "--config.auto-reload", "--config.auto-reload-interval=1s"))
	}
	for _, p := range servers {
		p.waitReady(30 * time.Second)
		p.waitQueryValue("one", "1", 20*time.Second)
	}
	writeFile(t, filepath.Join(dir, "rules.yml"), "groups:\n  - name: g\n    rules:\n      - record: four\n        expr: vector(4)\n")
	for _, p := range servers {
		p.waitQueryValue("four", "4", 20*time.Second)
	}
	sameAnswers(t, "/api/v1/rules", servers...)
}
