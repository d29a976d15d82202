package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runToExit runs bin with args and returns its exit code and output; it
// fails the test if bin is still running after timeout.
func runToExit(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v still running after 30s:\n%s", filepath.Base(bin), args, out.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestRefusedFeatures: an --enable-feature option mytsdb refuses stops the
// start before anything opens, as Prometheus stops for a feature list it
// cannot apply: the same exit code and "Error parsing feature list:" line
// (checked on the real Prometheus with two options it refuses together),
// naming the option and why. In agent mode the TSDB-only options are
// accepted (Prometheus's agent ignores them too) and old-ui still refused.
func TestRefusedFeatures(t *testing.T) {
	common := func(extra ...string) []string {
		path := "--storage.tsdb.path="
		if len(extra) > 0 && extra[0] == "--agent" {
			path = "--storage.agent.path="
		}
		return append([]string{"--web.listen-address=" + freeAddr(t), path + filepath.Join(t.TempDir(), "data")}, extra...)
	}
	refCode, refOut := runToExit(t, prometheusBinary(t), common("--enable-feature=otlp-deltatocumulative,otlp-native-delta-ingestion")...)
	const prefix = "Error parsing feature list: "
	if refCode == 0 || !strings.Contains(refOut, prefix) {
		t.Fatalf("the real Prometheus no longer refuses a feature list so (exit %d):\n%s", refCode, refOut)
	}
	for _, o := range []string{"xor2-encoding", "st-storage", "histograms-st-encoding", "use-uncached-io", "fast-startup", "old-ui"} {
		code, out := runToExit(t, mytsdbBinary, common("--enable-feature=exemplar-storage,"+o)...)
		want := prefix + "--enable-feature=" + o + " is not supported by mytsdb: " + refusedFeatures[o]
		if code != refCode || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d (Prometheus: %d), output:\n%s\nwant the line %q", o, code, refCode, out, want)
		}
		if strings.Contains(out, "Starting") {
			t.Errorf("%s: mytsdb started something before refusing:\n%s", o, out)
		}
	}
	code, out := runToExit(t, mytsdbBinary, common("--agent", "--enable-feature=old-ui")...)
	if code != refCode || !strings.Contains(out, prefix+"--enable-feature=old-ui is not supported by mytsdb") {
		t.Errorf("agent, old-ui: exit %d, output:\n%s", code, out)
	}

	// The config's form of xor2-encoding: the start fails as for any
	// config the storage refuses; xor (the default) is accepted.
	for _, floats := range []string{"xor2", "xor"} {
		cfg := filepath.Join(t.TempDir(), "prometheus.yml")
		writeFile(t, cfg, "storage:\n  tsdb:\n    chunk_encoding:\n      floats: "+floats+"\n")
		args := common("--config.file=" + cfg)
		if floats == "xor" {
			p := start(t, mytsdbBinary, t.TempDir(), strings.TrimPrefix(args[0], "--web.listen-address="), args...)
			p.waitReady(30 * time.Second)
			continue
		}
		code, out := runToExit(t, mytsdbBinary, args...)
		if code == 0 || !strings.Contains(out, `storage.tsdb.chunk_encoding.floats: \"xor2\" is not supported by mytsdb`) {
			t.Errorf("chunk_encoding.floats: xor2: exit %d, output:\n%s", code, out)
		}
	}

	// Accepted in agent mode, with Prometheus's log lines.
	cfg := filepath.Join(t.TempDir(), "agent.yml")
	writeFile(t, cfg, "global:\n  scrape_interval: 1h\n")
	opts := "--enable-feature=xor2-encoding,st-storage,histograms-st-encoding,use-uncached-io,fast-startup"
	for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		args := append(common("--agent", "--config.file="+cfg), opts)
		addr := strings.TrimPrefix(args[0], "--web.listen-address=")
		p := start(t, bin, t.TempDir(), addr, args...)
		p.waitReady(30 * time.Second)
		log := p.logText()
		for _, line := range []string{"Experimental start timestamp storage enabled.", "Experimental fast startup is enabled.", "Experimental ST-capable histogram chunk encoding enabled."} {
			if !strings.Contains(log, line) {
				t.Errorf("%s --agent %s: no log line %q", filepath.Base(bin), opts, line)
			}
		}
		if strings.Contains(log, "not honoured") {
			t.Errorf("%s --agent %s: a not-honoured warning:\n%s", filepath.Base(bin), opts, log)
		}
	}
}
