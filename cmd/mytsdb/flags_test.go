package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	buildserver "mytsdb/compliance/server"
)

// helpBlocks splits `--help-long` output into one block per flag (the flag
// line and its wrapped help text), keyed by flag name.
func helpBlocks(t *testing.T, bin string) map[string]string {
	t.Helper()
	out, err := exec.Command(bin, "--help-long").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help-long: %v\n%s", bin, err, out)
	}
	flagLine := regexp.MustCompile(`^\s+(?:-\w, )?--(?:\[no-\])?([A-Za-z0-9][\w.-]*)`)
	blocks := map[string]string{}
	var cur string
	for _, line := range strings.Split(string(out), "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil && strings.HasPrefix(strings.TrimSpace(line), "-") && !strings.HasPrefix(line, strings.Repeat(" ", 20)) {
			cur = m[1]
			blocks[cur] = line + "\n"
			continue
		}
		if cur != "" {
			blocks[cur] += line + "\n"
		}
	}
	for k, b := range blocks {
		blocks[k] = strings.TrimRight(b, " \n") + "\n"
	}
	return blocks
}

// TestEveryPrometheusFlagAccepted: every flag the real prometheus lists in
// --help-long appears in mytsdb's with the same default and the same help
// text, character for character.
func TestEveryPrometheusFlagAccepted(t *testing.T) {
	want := helpBlocks(t, prometheusBinary(t))
	got := helpBlocks(t, mytsdbBinary)
	if len(want) < 50 {
		t.Fatalf("parsed only %d flags from prometheus --help-long", len(want))
	}
	for name, block := range want {
		if got[name] != block {
			t.Errorf("flag --%s differs:\nprometheus:\n%smytsdb:\n%s", name, block, got[name])
		}
	}
}

// TestStatusFlagsMatchPrometheus compares /api/v1/status/flags — which lists
// hidden flags too — of both servers started with the same arguments: every
// Prometheus flag must be present in mytsdb's with the same value.
func TestStatusFlagsMatchPrometheus(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, "global:\n  scrape_interval: 15s\n")
	flags := func(bin string) map[string]string {
		addr := freeAddr(t)
		p := start(t, bin, dir, addr, "--config.file="+cfgPath, "--web.listen-address="+addr,
			"--storage.tsdb.path=data-"+filepath.Base(bin), "--query.timeout=1m", "--enable-feature=promql-experimental-functions")
		p.waitReady(30 * time.Second)
		resp, err := http.Get(p.url("/api/v1/status/flags"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var r struct {
			Status string            `json:"status"`
			Data   map[string]string `json:"data"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.Status != "success" {
			t.Fatalf("%s status/flags: %v %s", bin, err, b)
		}
		return r.Data
	}
	want, got := flags(prometheusBinary(t)), flags(mytsdbBinary)
	for name, v := range want {
		switch name {
		case "web.listen-address", "storage.tsdb.path": // differ by construction
			continue
		}
		g, ok := got[name]
		if !ok {
			t.Errorf("flag %s missing from mytsdb's status/flags", name)
		} else if g != v {
			t.Errorf("flag %s: mytsdb %q, prometheus %q", name, g, v)
		}
	}
}

// TestUnknownFlagRejected: an unknown flag is a parse error (so the tests
// above cannot pass by accepting anything), while a hidden Prometheus flag
// parses; kingpin handles --version only after the flags before it parsed.
func TestUnknownFlagRejected(t *testing.T) {
	out, err := exec.Command(mytsdbBinary, "--no-such-flag", "--version").CombinedOutput()
	if err == nil {
		t.Fatalf("unknown flag accepted: %s", out)
	}
	out, err = exec.Command(mytsdbBinary, "--storage.tsdb.min-block-duration=2h", "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "mytsdb, version") {
		t.Fatalf("hidden flag rejected or bad --version output: %v\n%s", err, out)
	}
}

// TestVersionFromLDFlags: the build information comes from
// github.com/prometheus/common/version, which the build sets with
// -ldflags (compliance/server.LDFlags): --version shows a non-empty version,
// the one LDFlags sets when TestMain built the binary.
func TestVersionFromLDFlags(t *testing.T) {
	out, err := exec.Command(mytsdbBinary, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	v, ok := strings.CutPrefix(first, "mytsdb, version ")
	v, _, _ = strings.Cut(v, " ")
	if !ok || v == "" || strings.HasPrefix(v, "(") {
		t.Fatalf("no version in --version output (built without -ldflags %q?):\n%s", buildserver.LDFlags(), out)
	}
	if os.Getenv("MYTSDB_BINARY") == "" && v != buildserver.MytsdbVersion {
		t.Fatalf("version %q, want %q (from LDFlags)", v, buildserver.MytsdbVersion)
	}
}
