package promapi

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// refVersion is the Prometheus release whose API we reproduce.
const refVersion = "v0.316.0"

// refServerFlags are the flags both servers run with (ours mirrors them in
// its engine options).
const refMaxSamples = 5000

// moduleRoot finds the directory holding go.mod.
func moduleRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// prometheusBinary is $PROMETHEUS_BINARY or the `make ref` build.
func prometheusBinary(t testing.TB) string {
	p := os.Getenv("PROMETHEUS_BINARY")
	if p == "" {
		p = filepath.Join(moduleRoot(t), ".cache", "ref", refVersion, "prometheus")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("reference prometheus binary not found at %s (%v): run make ref", p, err)
	}
	return p
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// refPrometheus is a running reference prometheus.
type refPrometheus struct {
	URL        string
	ConfigFile string
	DataDir    string // --storage.tsdb.path
}

// startPrometheus runs the reference binary with configYAML on a free
// 127.0.0.1 port and a temp data dir, plus extraFlags, and waits until it is
// ready.
func startPrometheus(t testing.TB, configYAML string, extraFlags ...string) *refPrometheus {
	bin := prometheusBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(configYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	dataDir := filepath.Join(dir, "data")
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + dataDir,
		"--web.listen-address=" + addr,
		"--web.enable-remote-write-receiver",
		"--enable-feature=exemplar-storage",
		fmt.Sprintf("--query.max-samples=%d", refMaxSamples),
		"--log.level=error",
	}, extraFlags...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("prometheus output:\n%s", stderr.String())
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &refPrometheus{URL: url, ConfigFile: cfg, DataDir: dataDir}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("prometheus at %s not ready after 30s:\n%s", url, stderr.String())
	return nil
}

// remoteWrite sends a remote-write 1.0 request and expects 204.
func remoteWrite(t testing.TB, url string, req *prompb.WriteRequest) {
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	hreq, err := http.NewRequest(http.MethodPost, url+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		t.Fatal(err)
	}
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	hreq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		t.Fatalf("remote write to %s: %s: %s", url, resp.Status, b.String())
	}
}
