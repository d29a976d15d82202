package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEmbeddedDefaultConfig: with no --config.file and no prometheus.yml in
// the working directory, mytsdb scrapes itself (job "mytsdb") and says so.
func TestEmbeddedDefaultConfig(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	p := start(t, mytsdbBinary, dir, addr, "--web.listen-address="+addr, "--storage.tsdb.path="+filepath.Join(dir, "data"))
	p.waitReady(30 * time.Second)
	p.waitQueryValue(`up{job="mytsdb",instance="`+addr+`"}`, "1", 40*time.Second)
	if !strings.Contains(p.logText(), "embedded default configuration") {
		t.Fatal("the log does not say that the embedded default configuration is used")
	}
	// Our own metrics arrive through the self-scrape.
	p.waitQueryValue(`prometheus_config_last_reload_successful{job="mytsdb"}`, "1", 10*time.Second)
}

// TestExplicitMissingConfigFails: naming a missing file is an error, as in
// Prometheus (exit code 2), even when it is called prometheus.yml.
func TestExplicitMissingConfigFails(t *testing.T) {
	for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		dir := t.TempDir()
		addr := freeAddr(t)
		p := start(t, bin, dir, addr, "--config.file=prometheus.yml", "--web.listen-address="+addr, "--storage.tsdb.path="+filepath.Join(dir, "data"))
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s did not exit", bin)
		}
		if code := p.cmd.ProcessState.ExitCode(); code != 2 {
			t.Fatalf("%s: exit code %d, want 2", filepath.Base(bin), code)
		}
	}
}
