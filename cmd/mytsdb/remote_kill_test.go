package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// ackLedger is what mytsdb acknowledged (HTTP 204) to a remote writer:
// per series key (as labelKey renders it), timestamp → value.
type ackLedger struct {
	mu    sync.Mutex
	acked map[string]map[int64]string
	n     int
}

// streamWrites remote-writes one sample of each of series sw_metric{i} to
// addr every 10 ms, with the wall clock as timestamp, until stop closes;
// acknowledged samples go to the ledger (refused or failed ones are not:
// the writer moves on, as a scraper does).
func streamWrites(addr string, series int, l *ackLedger, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	client := &http.Client{Timeout: 2 * time.Second}
	last := int64(0)
	for round := 0; ; round++ {
		select {
		case <-stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
		ts := time.Now().UnixMilli()
		if ts <= last {
			ts = last + 1
		}
		last = ts
		var req prompb.WriteRequest
		for i := range series {
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
				Labels:  []prompb.Label{{Name: "__name__", Value: "sw_metric"}, {Name: "i", Value: strconv.Itoa(i)}, {Name: "job", Value: "sw"}},
				Samples: []prompb.Sample{{Timestamp: ts, Value: float64(round) + float64(i)/100}},
			})
		}
		code, err := remoteWrite(client, addr, &req)
		if err != nil || code != http.StatusNoContent {
			continue
		}
		l.mu.Lock()
		for i := range series {
			key := labelKey(map[string]string{"__name__": "sw_metric", "i": strconv.Itoa(i), "job": "sw"})
			if l.acked[key] == nil {
				l.acked[key] = map[int64]string{}
			}
			l.acked[key][ts] = strconv.FormatFloat(float64(round)+float64(i)/100, 'f', -1, 64)
			l.n++
		}
		l.mu.Unlock()
	}
}

// missing returns how many acknowledged samples the receiver lacks (or
// holds with another value), and one of them.
func (l *ackLedger) missing(recv *proc, began time.Time) (int, string, error) {
	window := strconv.Itoa(int(time.Since(began)/time.Second)+5) + "s"
	got, err := recv.rangeSamples(`sw_metric`, window, time.Now())
	if err != nil {
		return 0, "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n, example := 0, ""
	for key, samples := range l.acked {
		have := map[int64]string{}
		for _, s := range got[key] {
			have[s.T] = s.V
		}
		for ts, v := range samples {
			if have[ts] != v {
				n++
				example = fmt.Sprintf("%s at %d: acknowledged %s, receiver has %q", key, ts, v, have[ts])
			}
		}
	}
	return n, example, nil
}

// TestRemoteWriteSurvivesSIGKILL: samples mytsdb acknowledged to a remote
// writer reach the real Prometheus, mytsdb's remote_write receiver, even
// when mytsdb is SIGKILLed mid-stream (some of them acknowledged, not yet
// sent) and restarted: once while the receiver is up, once while it is
// down (everything since then unsent). Duplicates are allowed, as in
// Prometheus; a missing sample is not.
func TestRemoteWriteSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	recvAddr := freeAddr(t)
	recv := startReceiver(t, dir, recvAddr)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, fmt.Sprintf(`global:
  scrape_interval: 1m
remote_write:
  - url: http://%s/api/v1/write
    queue_config:
      batch_send_deadline: 50ms
      min_backoff: 30ms
      max_backoff: 200ms
`, recvAddr))
	addr := freeAddr(t)
	args := []string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--web.enable-remote-write-receiver",
		"--storage.remote.flush-deadline=1s",
		"--query.lookback-delta=5m",
	}
	began := time.Now()
	m := start(t, mytsdbBinary, dir, addr, args...)
	m.waitReady(30 * time.Second)

	l := &ackLedger{acked: map[string]map[int64]string{}}
	stop, done := make(chan struct{}), make(chan struct{})
	go streamWrites(addr, 20, l, stop, done)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()
	acked := func() int { l.mu.Lock(); defer l.mu.Unlock(); return l.n }
	restart := func(why string) {
		t.Helper()
		before := acked()
		m.kill() // SIGKILL
		t.Logf("SIGKILL %s after %d samples acknowledged", why, before)
		m = start(t, mytsdbBinary, dir, addr, args...)
		m.waitReady(30 * time.Second)
	}

	time.Sleep(2 * time.Second)
	restart("mid-stream, receiver up")
	time.Sleep(2 * time.Second)

	stopGracefully(t, recv)
	time.Sleep(1500 * time.Millisecond)
	restart("mid-stream, receiver down")
	time.Sleep(time.Second)
	recv = startReceiver(t, dir, recvAddr)
	time.Sleep(time.Second)
	close(stop)
	<-done
	total := acked()
	if total < 20*100 {
		t.Fatalf("only %d samples acknowledged: the writer hardly ran", total)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		n, example, err := l.missing(recv, began)
		if err == nil && n == 0 {
			t.Logf("the receiver has all %d acknowledged samples", total)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver lacks %d of %d acknowledged samples (err %v), e.g. %s", n, total, err, example)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
