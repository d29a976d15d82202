package head

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"mytsdb/storage/wal"
)

// Realistic benchmark data: node_exporter-like series (10 labels, ~120 bytes
// of label names and values) and a value mix like real scrapes (integer
// counters with uneven increments, 2-decimal gauges, full-precision gauges).

var nodeMetrics = []struct {
	name  string
	extra [2]string // per-metric label name and the prefix of its values
	card  int       // values of the extra label
}{
	{"node_cpu_seconds_total", [2]string{"mode", "m"}, 8},
	{"node_network_receive_bytes_total", [2]string{"device", "eth"}, 4},
	{"node_network_transmit_bytes_total", [2]string{"device", "eth"}, 4},
	{"node_disk_read_bytes_total", [2]string{"device", "nvme"}, 4},
	{"node_disk_written_bytes_total", [2]string{"device", "nvme"}, 4},
	{"node_filesystem_avail_bytes", [2]string{"mountpoint", "/mnt/d"}, 6},
	{"node_memory_MemAvailable_bytes", [2]string{"numa", "n"}, 2},
	{"node_load1", [2]string{"kind", "k"}, 1},
	{"node_context_switches_total", [2]string{"kind", "k"}, 1},
	{"node_hwmon_temp_celsius", [2]string{"sensor", "temp"}, 6},
}

// nodeSeries returns n distinct node_exporter-like label sets (sorted labels).
func nodeSeries(n int, prefix string) []labels.Labels {
	out := make([]labels.Labels, 0, n)
	var b labels.ScratchBuilder
	for host := 0; len(out) < n; host++ {
		for _, m := range nodeMetrics {
			for v := 0; v < m.card && len(out) < n; v++ {
				b.Reset()
				b.Add("__name__", m.name)
				b.Add("instance", fmt.Sprintf("%s-%05d:9100", prefix, host))
				b.Add("job", "node")
				b.Add("env", "prod")
				b.Add("region", "eu-west-1")
				b.Add("cluster", fmt.Sprintf("k8s-%02d", host%16))
				b.Add("az", fmt.Sprintf("eu-west-1%c", 'a'+host%3))
				b.Add("team", "infra")
				b.Add("rack", fmt.Sprintf("r%03d", host%200))
				b.Add(m.extra[0], fmt.Sprint(m.extra[1], v))
				b.Sort()
				out = append(out, b.Labels())
			}
		}
	}
	return out
}

// nodeValue is the value of series i at step k: a third integer counters, a
// third 2-decimal gauges, a third full-precision gauges.
func nodeValue(i, k int) float64 {
	switch i % 3 {
	case 0:
		return float64(k*(i%97+1) + (k*k)%7)
	case 1:
		return float64((i*31+k*17)%10000) / 100
	default:
		return math.Sin(float64(i)+float64(k)*0.1) * 1e3
	}
}

// replayWAL is a WAL directory built once per process for the replay
// benchmarks, and its shape.
type replayWAL struct {
	dir             string
	series, samples int
}

var replayWALs sync.Map // string → *replayWAL

// buildReplayWAL writes (once per shape) a WAL like a scraping head leaves:
// series records, then rounds of samples records of perRecord samples (one
// scrape of consecutive series at one timestamp).
func buildReplayWAL(b *testing.B, nSeries, perSeries, perRecord int) *replayWAL {
	key := fmt.Sprint(nSeries, "/", perSeries, "/", perRecord)
	if v, ok := replayWALs.Load(key); ok {
		return v.(*replayWAL)
	}
	dir, err := os.MkdirTemp("", "head-replay-bench-")
	if err != nil {
		b.Fatal(err)
	}
	dir = filepath.Join(dir, "wal")
	w, err := wal.Open(wal.Options{Dir: dir, Sync: wal.SyncInterval, SyncInterval: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	lsets := nodeSeries(nSeries, "replay")
	var buf []byte
	var rs []wal.RefSeries
	for i := 0; i < nSeries; i += perRecord {
		rs = rs[:0]
		for j := i; j < min(i+perRecord, nSeries); j++ {
			rs = append(rs, wal.RefSeries{Ref: wal.SeriesRef(j + 1), Labels: lsets[j]})
		}
		buf = wal.AppendSeriesRecord(buf[:0], rs)
		if err := w.Log(buf); err != nil {
			b.Fatal(err)
		}
	}
	var smp []wal.RefSample
	for k := range perSeries {
		t := int64(1_700_000_000_000) + int64(k)*15000
		for i := 0; i < nSeries; i += perRecord {
			smp = smp[:0]
			for j := i; j < min(i+perRecord, nSeries); j++ {
				smp = append(smp, wal.RefSample{Ref: wal.SeriesRef(j + 1), T: t, V: nodeValue(j, k)})
			}
			buf = wal.AppendSamplesRecord(buf[:0], smp)
			if err := w.Log(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	rw := &replayWAL{dir: dir, series: nSeries, samples: nSeries * perSeries}
	v, _ := replayWALs.LoadOrStore(key, rw)
	return v.(*replayWAL)
}

func TestMain(m *testing.M) {
	code := m.Run()
	replayWALs.Range(func(_, v any) bool {
		_ = os.RemoveAll(filepath.Dir(v.(*replayWAL).dir))
		return true
	})
	os.Exit(code)
}
