package remote

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang/snappy"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/record"

	"mytsdb/storage/wal"
)

// counting is a queue manager stand-in that takes everything.
type counting struct {
	recorder
	n int
}

func (c *counting) Append(ss []record.RefSample) bool   { c.n += len(ss); return true }
func (c *counting) StoreSeries([]record.RefSeries, int) {}

// BenchmarkFollowerHandOver: WAL records read, decoded and handed to a
// queue manager that takes them, per sample.
func BenchmarkFollowerHandOver(b *testing.B) {
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: wal.NewMemFS()})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	const series, records = 1000, 100
	logData(b, w, 1, series, records, 1000)
	end := w.Written()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c := &counting{}
		f := newFollower(followerOptions{
			Name: "q", WAL: w, To: c, Counts: idleCounts, PosFile: filepath.Join(b.TempDir(), "p"), SentFile: filepath.Join(b.TempDir(), "s"),
			Poll: time.Hour, Logger: slog.New(slog.DiscardHandler), Gaps: prometheus.NewCounter(prometheus.CounterOpts{Name: "g"}),
			Start: wal.Position{Segment: 1}, SaveEach: time.Hour,
		})
		for f.pos.Less(end) {
			if _, err := f.step(); err != nil {
				b.Fatal(err)
			}
		}
		if c.n != series*records {
			b.Fatalf("%d samples handed over, want %d", c.n, series*records)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*series*records), "ns/sample")
}

// BenchmarkSentObserve: what noting an accepted RW 1.0 request costs, per
// sample (one sample per series, as a scrape-driven queue sends), without
// and with the sent journal (one write per request; emptied every 100
// requests outside the timer, as a save of the sent set empties it).
func BenchmarkSentObserve(b *testing.B) {
	for _, journal := range []bool{false, true} {
		name := "no journal"
		if journal {
			name = "journal"
		}
		b.Run(name, func(b *testing.B) { benchmarkSentObserve(b, journal) })
	}
}

func benchmarkSentObserve(b *testing.B, journal bool) {
	var req prompb.WriteRequest
	for i := range 2000 {
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
			Labels:  []prompb.Label{{Name: "__name__", Value: "metric_name_total"}, {Name: "instance", Value: "host-1:9100"}, {Name: "job", Value: "node"}, {Name: "i", Value: string(rune('a'+i%26)) + "x"}},
			Samples: []prompb.Sample{{Timestamp: int64(i), Value: float64(i)}},
		})
	}
	raw, err := req.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	comp := snappy.Encode(nil, raw)
	s := newSentSet()
	if journal {
		if err := openJournal(s, filepath.Join(b.TempDir(), "q.sent")); err != nil {
			b.Fatal(err)
		}
		defer s.closeJournal()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.observe(comp, remoteapi.WriteV1MessageType); err != nil {
			b.Fatal(err)
		}
		if journal && i%100 == 99 {
			b.StopTimer()
			if err := s.journal.Truncate(0); err != nil {
				b.Fatal(err)
			}
			if _, err := s.journal.Seek(0, 0); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2000), "ns/sample")
}
