package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// rw2Capture is a remote-write 2.0 endpoint that keeps, per series, the
// metadata of the last request that carried it: what a receiver gets.
type rw2Capture struct {
	srv  *httptest.Server
	down atomic.Bool // answer 503 (the sender retries)
	mu   sync.Mutex
	meta map[string]string // series labels → "type|help|unit"
}

func newRW2Capture(t *testing.T) *rw2Capture {
	c := &rw2Capture{meta: map[string]string{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		b, err := io.ReadAll(r.Body)
		if err == nil {
			b, err = snappy.Decode(nil, b)
		}
		var req writev2.Request
		if err == nil {
			err = req.Unmarshal(b)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		samples, histograms := 0, 0
		c.mu.Lock()
		for _, ts := range req.Timeseries {
			var sb strings.Builder
			for i := 0; i+1 < len(ts.LabelsRefs); i += 2 {
				fmt.Fprintf(&sb, "%s=%q,", req.Symbols[ts.LabelsRefs[i]], req.Symbols[ts.LabelsRefs[i+1]])
			}
			c.meta[sb.String()] = fmt.Sprintf("%s|%s|%s", ts.Metadata.Type, req.Symbols[ts.Metadata.HelpRef], req.Symbols[ts.Metadata.UnitRef])
			samples += len(ts.Samples)
			histograms += len(ts.Histograms)
		}
		c.mu.Unlock()
		w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", strconv.Itoa(samples))
		w.Header().Set("X-Prometheus-Remote-Write-Histograms-Written", strconv.Itoa(histograms))
		w.Header().Set("X-Prometheus-Remote-Write-Exemplars-Written", "0")
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *rw2Capture) snapshot() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.meta))
	for k, v := range c.meta {
		out[k] = v
	}
	return out
}

// of returns the metadata received for the series named name.
func (c *rw2Capture) of(name string) (string, bool) {
	for k, v := range c.snapshot() {
		if strings.Contains(k, `__name__="`+name+`",`) {
			return v, true
		}
	}
	return "", false
}

func (c *rw2Capture) waitFor(t *testing.T, name string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if v, ok := c.of(name); ok {
			return v
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s received within %v", name, timeout)
	return ""
}

// metadataTarget serves an OpenMetrics exposition with type, help and unit.
func metadataTarget(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
		io.WriteString(w, "# TYPE fix_jobs counter\n# HELP fix_jobs Jobs processed.\nfix_jobs_total 5\n"+
			"# TYPE fix_room_celsius gauge\n# UNIT fix_room_celsius celsius\n# HELP fix_room_celsius Temperature of the room.\nfix_room_celsius 21.5\n# EOF\n")
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func metadataConfig(target, receiver string) string {
	s := "global:\n  scrape_interval: 500ms\n"
	if target != "" {
		s += "scrape_configs:\n  - job_name: fix\n    static_configs:\n      - targets: ['" + target + "']\n"
	}
	return s + `remote_write:
  - url: ` + receiver + `
    protobuf_message: io.prometheus.write.v2.Request
    queue_config:
      batch_send_deadline: 100ms
      min_backoff: 50ms
      max_backoff: 200ms
`
}

// TestMetadataWALRecordsAsPrometheus: with metadata-wal-records the scraped
// type, help and unit of every series reach a remote-write 2.0 receiver as
// from the real Prometheus scraping the same target (server and agent);
// without it neither sends metadata. In mytsdb the metadata is in the WAL:
// samples scraped while the receiver was down, sent after a restart that no
// longer scrapes the target, still carry it.
func TestMetadataWALRecordsAsPrometheus(t *testing.T) {
	target := metadataTarget(t)
	type run struct {
		name  string
		extra []string
	}
	for _, r := range []run{
		{"server", []string{"--enable-feature=metadata-wal-records"}},
		{"server without the feature", nil},
		{"agent", []string{"--agent", "--enable-feature=metadata-wal-records"}},
	} {
		t.Run(r.name, func(t *testing.T) {
			var got []map[string]string
			for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
				recv := newRW2Capture(t)
				dir := t.TempDir()
				cfg := filepath.Join(dir, "prometheus.yml")
				writeFile(t, cfg, metadataConfig(target, recv.srv.URL))
				addr := freeAddr(t)
				path := "--storage.tsdb.path="
				if len(r.extra) > 0 && r.extra[0] == "--agent" {
					path = "--storage.agent.path="
				}
				args := append([]string{"--config.file=" + cfg, "--web.listen-address=" + addr, path + filepath.Join(dir, "data"),
					"--storage.remote.flush-deadline=1s"}, r.extra...)
				p := start(t, bin, dir, addr, args...)
				p.waitReady(30 * time.Second)
				recv.waitFor(t, "fix_jobs_total", 30*time.Second)
				recv.waitFor(t, "fix_room_celsius", 30*time.Second)
				recv.waitFor(t, "up", 30*time.Second)
				time.Sleep(2 * time.Second) // a few more scrapes: the steady state
				got = append(got, recv.snapshot())
				stopGracefully(t, p)
			}
			if !reflect.DeepEqual(got[0], got[1]) {
				t.Errorf("metadata received:\nmytsdb     %v\nprometheus %v", got[0], got[1])
			}
			want := "METRIC_TYPE_COUNTER|Jobs processed.|"
			if r.extra == nil {
				want = "METRIC_TYPE_UNSPECIFIED||"
			}
			for k, v := range got[1] {
				if strings.Contains(k, `__name__="fix_jobs_total"`) && v != want {
					t.Errorf("Prometheus sent %s for %s, the test expects %s", v, k, want)
				}
			}
		})
	}

	t.Run("restart", func(t *testing.T) {
		recv := newRW2Capture(t)
		recv.down.Store(true)
		dir := t.TempDir()
		cfg := filepath.Join(dir, "prometheus.yml")
		writeFile(t, cfg, metadataConfig(target, recv.srv.URL))
		addr := freeAddr(t)
		args := []string{"--config.file=" + cfg, "--web.listen-address=" + addr, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
			"--storage.remote.flush-deadline=1s", "--enable-feature=metadata-wal-records"}
		p := start(t, mytsdbBinary, dir, addr, args...)
		p.waitReady(30 * time.Second)
		p.waitQueryValue(`count_over_time(fix_jobs_total[5m]) >= bool 4`, "1", 30*time.Second)
		stopGracefully(t, p)
		if _, ok := recv.of("fix_jobs_total"); ok {
			t.Fatal("the receiver got samples while it was down")
		}

		// Restarted without the target: what arrives comes from the WAL.
		writeFile(t, cfg, metadataConfig("", recv.srv.URL))
		recv.down.Store(false)
		p = start(t, mytsdbBinary, dir, addr, args...)
		p.waitReady(30 * time.Second)
		if v := recv.waitFor(t, "fix_jobs_total", 30*time.Second); v != "METRIC_TYPE_COUNTER|Jobs processed.|" {
			t.Errorf("fix_jobs_total sent after the restart with metadata %q", v)
		}
		if v := recv.waitFor(t, "fix_room_celsius", 30*time.Second); v != "METRIC_TYPE_GAUGE|Temperature of the room.|celsius" {
			t.Errorf("fix_room_celsius sent after the restart with metadata %q", v)
		}
	})
}
