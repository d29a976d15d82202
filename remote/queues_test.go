package remote

import (
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	upstream "github.com/prometheus/prometheus/storage/remote"
)

// TestQueueManagersReachable pins what this package assumes of upstream's
// unexported layout: the queue managers are found by reflection, keyed by
// the hash configHash computes, and each registers the pending and failed
// metrics followers read.
func TestQueueManagersReachable(t *testing.T) {
	conf, err := config.Load(`
remote_write:
  - url: http://127.0.0.1:9/api/v1/write
    name: first
  - url: http://127.0.0.1:9/other
    protobuf_message: io.prometheus.write.v2.Request
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := idleWatcherWAL(filepath.Join(dir, "wal")); err != nil {
		t.Fatal(err)
	}
	reg := newCapturingRegisterer(prometheus.NewRegistry())
	rs := upstream.NewStorage(nil, reg, func() (int64, error) { return 0, nil }, dir, 0, nil, false)
	defer rs.Close()
	if err := rs.ApplyConfig(conf); err != nil {
		t.Fatal(err)
	}
	qms, err := queueManagers(rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(qms) != 2 {
		t.Fatalf("%d queue managers, want 2", len(qms))
	}
	for _, rw := range conf.RemoteWriteConfigs {
		h, err := configHash(rw)
		if err != nil {
			t.Fatal(err)
		}
		if qms[h] == nil {
			t.Fatalf("no queue manager under %s for %s", h, rw.URL)
		}
		name := rw.Name
		if name == "" {
			name = h[:6]
		}
		c := reg.queue(name)
		if !c.complete() || c.pending() != 0 || c.failed() != 0 {
			t.Fatalf("queue %s metrics: %d of %d found, pending %v, failed %v", name, len(c), len(watchedMetrics), c.pending(), c.failed())
		}
	}
}
