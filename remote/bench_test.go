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
// sample (one sample per series, as a scrape-driven queue sends).
func BenchmarkSentObserve(b *testing.B) {
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
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := s.observe(comp, remoteapi.WriteV1MessageType); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2000), "ns/sample")
}
