package head

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	ourchunks "mytsdb/storage/chunkenc"
	"mytsdb/storage/wal"
)

// recodeValue is the k-th sample's value of series i: counters, 2-decimal
// gauges, full-precision values, and the odd stale marker and NaN.
func recodeValue(i, k int) float64 {
	switch {
	case k%97 == 13:
		return math.Float64frombits(value.StaleNaN)
	case k%89 == 7:
		return math.NaN()
	}
	switch i % 3 {
	case 0:
		return float64(k * (i + 3))
	case 1:
		return float64((k*37+i)%1000) / 100
	}
	return math.Sqrt(float64(k + i))
}

// sealedEncodings counts the encodings of every cut chunk and their bytes.
func sealedEncodings(h *Head) (map[chunkenc.Encoding]int, int) {
	encs, size := map[chunkenc.Encoding]int{}, 0
	h.series.forEach(func(s *memSeries) {
		s.mu.Lock()
		for _, c := range s.mu.sealed {
			encs[c.chunk.Encoding()]++
			size += len(c.chunk.Bytes())
		}
		s.mu.Unlock()
	})
	return encs, size
}

// checkHeadSamples compares every series of h with recodeValue.
func checkHeadSamples(t *testing.T, h *Head, series, perSeries int) {
	t.Helper()
	q, err := h.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
	n := 0
	for ; ss.Next(); n++ {
		var i int
		fmt.Sscan(ss.At().Labels().Get("i"), &i)
		got, err := readIterator(ss.At().Iterator(nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != perSeries {
			t.Fatalf("series %d: %d samples, want %d", i, len(got), perSeries)
		}
		for k, s := range got {
			if want := recodeValue(i, k); s.t != int64(k)*15000 || math.Float64bits(s.v) != math.Float64bits(want) {
				t.Fatalf("series %d sample %d: (%d, %x), want (%d, %x)", i, k, s.t, math.Float64bits(s.v), k*15000, math.Float64bits(want))
			}
		}
	}
	if n != series {
		t.Fatalf("%d series, want %d", n, series)
	}
}

// Cut chunks are re-encoded in the background while appends and queries
// go on (run with -race), end up all in our codec, smaller than their XOR,
// with the same samples; after a restart the replayed head is recoded too.
func TestCutChunksRecoded(t *testing.T) {
	const series, perSeries = 40, 1000
	fs := wal.NewMemFS()
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: fs, SegmentSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	h, err := New(Options{WAL: w, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	lsets := make([]labels.Labels, series)
	for i := range lsets {
		lsets[i] = labels.FromStrings("__name__", "m", "i", fmt.Sprint(i))
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() { // Readers holding chunks while they are swapped.
			defer readers.Done()
			readIncreasing(t, h, stop)
		}()
	}
	for k := range perSeries {
		app := h.Appender(context.Background())
		for i, l := range lsets {
			if _, err := app.Append(0, l, int64(k)*15000, recodeValue(i, k)); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	readers.Wait()
	h.WaitRecoded()

	encs, size := sealedEncodings(h)
	sealed := encs[ourchunks.EncFloat]
	if encs[chunkenc.EncXOR] != 0 || sealed < series*(perSeries/120-1) {
		t.Fatalf("cut chunks by encoding %v, want all of about %d in %#x", encs, series*perSeries/120, ourchunks.EncFloat)
	}
	if got := testutil.ToFloat64(h.metrics.recode.recoded); got != float64(sealed) {
		t.Fatalf("mytsdb_head_chunks_recoded_total %v, want %d", got, sealed)
	}
	// The same samples as XOR would take more bytes (what recoding saves).
	xorSize := 0
	h.series.forEach(func(s *memSeries) {
		for _, c := range s.mu.sealed {
			x, err := ourchunks.ToXOR(c.chunk)
			if err != nil {
				t.Fatal(err)
			}
			xorSize += len(x.Bytes())
		}
	})
	if size >= xorSize {
		t.Fatalf("recoded cut chunks take %d bytes, as XOR %d", size, xorSize)
	}
	t.Logf("%d cut chunks: %d bytes recoded, %d as XOR (%.2f×)", sealed, size, xorSize, float64(size)/float64(xorSize))
	checkHeadSamples(t, h, series, perSeries)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	h2, w2 := openTestHead(t, fs, 0)
	defer w2.Close()
	defer h2.Close()
	h2.WaitRecoded()
	if encs, _ := sealedEncodings(h2); encs[chunkenc.EncXOR] != 0 || encs[ourchunks.EncFloat] != sealed {
		t.Fatalf("after replay, cut chunks by encoding %v, want %d in %#x", encs, sealed, ourchunks.EncFloat)
	}
	checkHeadSamples(t, h2, series, perSeries)
}

// readIncreasing queries every series named m of h, over and over until
// stop, and fails t if a series' timestamps do not increase or a read
// fails: the reader's side of the tests that swap or write chunks while
// queries hold them.
func readIncreasing(t *testing.T, h *Head, stop <-chan struct{}) {
	var it chunkenc.Iterator
	for {
		select {
		case <-stop:
			return
		default:
		}
		q, err := h.Querier(math.MinInt64, math.MaxInt64)
		if err != nil {
			t.Error(err)
			return
		}
		ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
		for ss.Next() {
			it = ss.At().Iterator(it)
			prev := int64(math.MinInt64)
			for it.Next() != chunkenc.ValNone {
				if tt := it.AtT(); tt <= prev {
					t.Errorf("timestamps not increasing: %d after %d", tt, prev)
				} else {
					prev = tt
				}
			}
			if err := it.Err(); err != nil {
				t.Error(err)
			}
		}
		if err := ss.Err(); err != nil {
			t.Error(err)
		}
		_ = q.Close()
	}
}
