package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"mytsdb/compliance/server"
	"mytsdb/web/ui"
)

// TestBrowserUI runs app/test/e2e.mjs (playwright-core driving Debian's
// chromium) against the mytsdb binary serving under a route prefix, scraping
// a fixture target every second and evaluating one alerting rule. Without
// node_modules or chromium (make test installs both) it fails.
func TestBrowserUI(t *testing.T) {
	root, err := server.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(root, "web", "ui", "app")
	chromium, cerr := exec.LookPath("chromium")
	_, merr := os.Stat(filepath.Join(app, "node_modules", "playwright-core"))
	if cerr != nil || merr != nil || !ui.Built() {
		// Like the reference Prometheus for the other side-by-side tests,
		// these are built by make; without them the test fails, it does not
		// pass by checking nothing.
		t.Fatalf("browser test needs chromium (%v), node_modules (%v) and the bundle (built: %v): run make ui ui-browser", cerr, merr, ui.Built())
	}
	dir := t.TempDir()
	bin, err := server.MytsdbBinary(dir)
	if err != nil {
		t.Fatal(err)
	}

	var scrapes atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP fixture_requests_total Requests the fixture served.\n# TYPE fixture_requests_total counter\n"+
			"fixture_requests_total{code=\"200\"} %d\nfixture_requests_total{code=\"500\"} %d\n"+
			"# HELP fixture_temperature_celsius A constant gauge.\n# TYPE fixture_temperature_celsius gauge\nfixture_temperature_celsius 21.5\n", n*3, n)
	}))
	defer target.Close()

	rules := filepath.Join(dir, "rules.yml")
	write(t, rules, "groups:\n- name: fixture\n  interval: 1s\n  rules:\n  - alert: FixtureHot\n    expr: fixture_temperature_celsius > 20\n")
	cfg := filepath.Join(dir, "prometheus.yml")
	write(t, cfg, fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [%q]\nscrape_configs:\n- job_name: fixture\n  static_configs:\n  - targets: [%q]\n",
		rules, strings.TrimPrefix(target.URL, "http://")))

	port, err := server.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	base := "http://" + addr + "/prom/"
	var logs strings.Builder
	cmd := exec.Command(bin, "--config.file="+cfg, "--web.listen-address="+addr, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.external-url="+base, "--web.page-title=mytsdb UI test", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("mytsdb log:\n%s", logs.String())
		}
	}()
	waitFor(t, 30*time.Second, "mytsdb ready", func() bool {
		r, err := http.Get(base + "-/ready")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	waitFor(t, 20*time.Second, "4 scrapes", func() bool { return scrapes.Load() >= 4 })
	// A second inside the scraped data, so that the table and the API are
	// compared at the same evaluation time.
	moment := time.Now().Add(-1500 * time.Millisecond).UTC().Truncate(time.Second).Format("2006-01-02 15:04:05")

	shots := filepath.Join(root, "web", "ui", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	node := exec.CommandContext(ctx, "node", "test/e2e.mjs")
	node.Dir = app
	node.Env = append(os.Environ(), "BASE_URL="+base, "CHROMIUM="+chromium, "SCREENSHOTS="+shots, "MOMENT="+moment)
	out, err := node.CombinedOutput()
	t.Logf("browser test (screenshots in %s):\n%s", shots, out)
	if err != nil {
		t.Fatalf("browser test: %v", err)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
