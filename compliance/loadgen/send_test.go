package loadgen

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// TestRunDeliversEverySampleInOrder sends a few rounds to a receiver that
// decodes each body with the upstream types and checks that every series sees
// each round exactly once, in increasing time order, with the right headers.
func TestRunDeliversEverySampleInOrder(t *testing.T) {
	for _, p := range []Protocol{V1, V2} {
		t.Run(p.String(), func(t *testing.T) {
			cfg := testConfig(p)
			cfg.Tenant = "team-a"
			l, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var (
				mu   sync.Mutex
				last = map[string]int64{} // series key → last timestamp
				n    int
				bad  atomic.Value
			)
			fail := func(msg string) { bad.CompareAndSwap(nil, msg) }
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				wantCT := map[Protocol]string{V1: "application/x-protobuf", V2: "application/x-protobuf;proto=io.prometheus.write.v2.Request"}[p]
				if r.Header.Get("Content-Type") != wantCT || r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("X-Scope-OrgID") != "team-a" {
					fail("headers: " + r.Header.Get("Content-Type") + " " + r.Header.Get("Content-Encoding") + " " + r.Header.Get("X-Scope-OrgID"))
				}
				body, _ := io.ReadAll(r.Body)
				raw, err := snappy.Decode(nil, body)
				if err != nil {
					fail(err.Error())
					return
				}
				type s struct {
					key string
					t   int64
				}
				var got []s
				if p == V1 {
					var req prompb.WriteRequest
					if err := req.Unmarshal(raw); err != nil {
						fail(err.Error())
						return
					}
					for _, ts := range req.Timeseries {
						key := ""
						for _, l := range ts.Labels {
							key += l.Name + "\x00" + l.Value + "\x00"
						}
						got = append(got, s{key, ts.Samples[0].Timestamp})
					}
				} else {
					var req writev2.Request
					if err := req.Unmarshal(raw); err != nil {
						fail(err.Error())
						return
					}
					for _, ts := range req.Timeseries {
						key := ""
						for _, ref := range ts.LabelsRefs {
							key += req.Symbols[ref] + "\x00"
						}
						got = append(got, s{key, ts.Samples[0].Timestamp})
					}
					w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", itoa(len(got)))
				}
				mu.Lock()
				for _, g := range got {
					k := g.key
					if prev, ok := last[k]; ok && g.t <= prev {
						fail("out of order")
					}
					last[k] = g.t
					n++
				}
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			st, err := l.Run(context.Background(), NewClient(cfg.Senders), srv.URL, 0, 5)
			if err != nil {
				t.Fatal(err)
			}
			if msg := bad.Load(); msg != nil {
				t.Fatal(msg)
			}
			if st.Samples != int64(5*cfg.Series) || n != 5*cfg.Series || len(last) != cfg.Series {
				t.Fatalf("stats %+v, receiver saw %d samples of %d series; want %d of %d", st, n, len(last), 5*cfg.Series, cfg.Series)
			}
			for _, ts := range last {
				if ts != l.Timestamp(4) {
					t.Fatalf("a series ends at %d, want %d", ts, l.Timestamp(4))
				}
			}
		})
	}
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

func TestRunReportsTheServersError(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 3 {
			http.Error(w, "out of order sample", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	l, err := New(testConfig(V1))
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.Run(context.Background(), NewClient(3), srv.URL, 0, 3)
	if err == nil || !strings.Contains(err.Error(), "HTTP 400: out of order sample") {
		t.Fatalf("error %v, want the server's HTTP 400 and message", err)
	}
	if st.Requests > 3 || st.Samples > 300 {
		t.Fatalf("stats %+v count failed requests", st)
	}
}

func TestRunReportsAShortWrite(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", "1")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	l, err := New(testConfig(V2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Run(context.Background(), NewClient(3), srv.URL, 0, 1); err == nil || !strings.Contains(err.Error(), "wrote 1 of") {
		t.Fatalf("error %v, want a short-write error", err)
	}
}

func TestRunStopsAtDeadlineWithPartialStats(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	l, err := New(testConfig(V1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	st, err := l.Run(ctx, NewClient(3), srv.URL, 0, 1000)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the deadline", err)
	}
	if st.Samples == 0 || st.Requests == 0 || st.Samples >= 1000*int64(l.Config().Series) {
		t.Fatalf("partial stats %+v", st)
	}
}

func TestRunReportsAStuckServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	l, err := New(testConfig(V1))
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(3)
	c.Timeout = 100 * time.Millisecond
	if _, err := l.Run(context.Background(), c, srv.URL, 0, 1); err == nil || !strings.Contains(err.Error(), "no response within 100ms") {
		t.Fatalf("error %v, want a stuck-server error", err)
	}
}
