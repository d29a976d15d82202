package remotewrite

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/storage"

	"mytsdb/compliance/loadgen"
	mstorage "mytsdb/storage"
	"mytsdb/storage/head"
)

var benchHeadSeries = flag.Int("rw.series", 200_000, "series of BenchmarkWriteHead")

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWriteHead is the full request path: snappy, decode, ref cache and
// append into a real head, without a WAL and with one on a temp dir, on the
// load make bench sends (loadgen: node-exporter-like series, 2000 samples
// per request, one request per op). Round 0 (series creation) runs before
// the timer; the timed ops are steady-state rounds. cpu-ns/sample is the
// process CPU (all goroutines, so WAL work too) spent inside ServeHTTP.
func BenchmarkWriteHead(b *testing.B) {
	for _, proto := range []loadgen.Protocol{loadgen.V1, loadgen.V2} {
		for _, wal := range []bool{false, true} {
			name := "v" + strconv.Itoa(int(proto)) + "/nowal"
			if wal {
				name = "v" + strconv.Itoa(int(proto)) + "/wal"
			}
			b.Run(name, func(b *testing.B) { benchWriteHead(b, proto, wal) })
		}
	}
}

func benchWriteHead(b *testing.B, proto loadgen.Protocol, wal bool) {
	const batch = 2000
	// Rounds are 1 s apart, starting an hour back, so that any b.N stays
	// within the head's appendable window and short of the future limit.
	l, err := loadgen.New(loadgen.Config{Series: *benchHeadSeries, Senders: 4, BatchSize: batch, Protocol: proto,
		StartMs: time.Now().Add(-time.Hour).UnixMilli(), IntervalMs: 1000})
	if err != nil {
		b.Fatal(err)
	}
	var app storage.AppendableV2
	if wal {
		db, err := mstorage.Open(mstorage.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		app = db.Default()
	} else {
		h, err := head.New(head.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = h.Close() })
		app = h
	}
	h := NewHandler(Options{Appendable: func(string) (storage.AppendableV2, error) { return app, nil }})
	ct := ctV1
	if proto == loadgen.V2 {
		ct = ctV2
	}
	rd := bytes.NewReader(nil)
	req, _ := http.NewRequest(http.MethodPost, "/api/v1/write", rd)
	req.Body = io.NopCloser(rd) // NewRequest made it NoBody: rd is empty yet
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Content-Encoding", "snappy")
	w := &nopWriter{h: http.Header{}}
	type pos struct{ s, bt int }
	var order []pos
	for bt := 0; ; bt++ {
		n := 0
		for s := range l.Senders() {
			if bt < l.Batches(s) {
				order = append(order, pos{s, bt})
				n++
			}
		}
		if n == 0 {
			break
		}
	}
	body := func(p pos, r int) []byte {
		bd, err := l.Body(p.s, p.bt, r)
		if err != nil {
			b.Fatal(err)
		}
		return bd
	}
	send := func(body []byte) time.Duration {
		rd.Reset(body)
		req.ContentLength = int64(len(body))
		c0 := cpuNow()
		h.ServeHTTP(w, req)
		c := cpuNow() - c0
		if w.code != http.StatusNoContent {
			b.Fatalf("status %d: %.300s", w.code, w.body)
		}
		return c
	}
	for _, p := range order { // round 0 creates the series
		send(body(p, 0))
	}
	runtime.GC()
	var cpu time.Duration
	samples, i := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p := order[i%len(order)]
		r := 1 + i/len(order)
		b.StopTimer()
		bd := body(p, r) // patching the timestamps is the sender's work
		b.StartTimer()
		cpu += send(bd)
		samples += len(l.BatchSeries(p.s, p.bt))
		i++
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(samples), "cpu-ns/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/sample")
}
