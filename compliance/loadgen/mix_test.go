package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

func TestMixStorageIsFACTSMix(t *testing.T) {
	n := map[Kind]int{}
	for i := range 20_000 {
		n[MixStorage.Kind(i)]++
	}
	if n[Counter] != 10_000 || n[Gauge2] != 5_000 || n[GaugeFull] != 5_000 {
		t.Fatalf("kinds %v, want half counters, a quarter of each gauge", n)
	}
	for i := range 400 {
		if MixStorage.Kind(i) != Counter {
			continue
		}
		for r := range 100 {
			a, b := MixStorage.Value(i, r), MixStorage.Value(i, r+1)
			if b <= a || a != float64(int64(a)) {
				t.Fatalf("series %d: round %d %v, round %d %v: want an increasing integer counter", i, r, a, r+1, b)
			}
		}
	}
	if MixNode.Value(7, 3) != Value(7, 3) || MixNode.Labels(9)[0] != SeriesLabels(9)[0] {
		t.Fatal("MixNode differs from the package's default series")
	}
}

// TestMixDashboardHistograms: buckets are cumulative in le and in time, +Inf
// equals _count, and a host's series stay unique.
func TestMixDashboardHistograms(t *testing.T) {
	m := MixDashboard
	per := m.SeriesPerHost()
	if per != SeriesPerHost()+len(histHandlers)*(len(histBuckets)+2) {
		t.Fatalf("%d series per host", per)
	}
	seen := map[string]bool{}
	for i := range 2 * per {
		key := ""
		for _, l := range m.Labels(i) {
			key += l.Name + "=" + l.Value + ","
		}
		if seen[key] {
			t.Fatalf("duplicate series %s", key)
		}
		seen[key] = true
	}
	for h := range 2 {
		for r := range 50 {
			prev := -1.0
			var inf, count float64
			for k := SeriesPerHost(); k < per; k++ {
				i := h*per + k
				v := m.Value(i, r)
				if m.Value(i, r+1) < v {
					t.Fatalf("series %d decreases after round %d", i, r)
				}
				switch m.Kind(i) {
				case HistBucket:
					if v < prev {
						t.Fatalf("series %d: bucket %v below the previous %v", i, v, prev)
					}
					prev = v
					if le(m.Labels(i)) == "+Inf" {
						inf = v
					}
				case HistCount:
					count = v
					if inf != count {
						t.Fatalf("host %d round %d: +Inf %v, count %v", h, r, inf, count)
					}
					prev = -1
				}
			}
		}
	}
}

// TestLockstepKeepsSendersInStep: with Lockstep no sender starts round r+1
// before every sender finished round r, and progress counts every sample.
func TestLockstepKeepsSendersInStep(t *testing.T) {
	cfg := Config{Series: 900, Senders: 3, BatchSize: 100, Protocol: V1, StartMs: 1_764_000_000_000,
		IntervalMs: 15_000, Mix: MixDashboard, Lockstep: true}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		done     = map[int64]int{} // timestamp -> samples received
		violated string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, b)
		var req prompb.WriteRequest
		if err == nil {
			err = req.Unmarshal(raw)
		}
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		ts := req.Timeseries[0].Samples[0].Timestamp
		mu.Lock()
		if prev := ts - cfg.IntervalMs; prev >= cfg.StartMs && done[prev] < cfg.Series && violated == "" {
			violated = "round at " + strconv.FormatInt(ts, 10) + " sent before the previous one completed"
		}
		done[ts] += len(req.Timeseries)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	var progress atomic.Int64
	st, err := l.RunProgress(context.Background(), NewClient(3), srv.URL, 0, 20, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if violated != "" {
		t.Fatal(violated)
	}
	if st.Samples != 20*900 || progress.Load() != st.Samples {
		t.Fatalf("samples %d, progress %d, want %d", st.Samples, progress.Load(), 20*900)
	}
}

func le(ls []Label) string {
	for _, l := range ls {
		if l.Name == "le" {
			return l.Value
		}
	}
	return ""
}
