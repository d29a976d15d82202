package block

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"mytsdb/compliance/loadgen"
	ourchunks "mytsdb/storage/chunkenc"
)

// The data of make bench's disk scenario, one block of it: loadgen's
// storage mix (node_exporter-like labels; half integer counters, a quarter
// 2-decimal gauges, a quarter full-precision gauges), one sample per minute
// for 2h (120 samples per series, one chunk), written once as our block and
// once as Prometheus's. Run with
//
//	go test ./storage/block/ -run '^$' -bench DiskMixSideBySide -benchtime=1x
//
// It reports bytes per sample of the whole block and of its index and
// chunk files separately, so a change can be aimed at the part that weighs.
const (
	diskSeries   = 20_000
	diskSamples  = 120
	diskInterval = 60_000
	// diskStart is a 2h boundary of December 2025: timestamps of today's
	// size, since their varints are part of what is measured.
	diskStart = 1_765_000_800_000
)

func diskMixData() ([]labels.Labels, [][]sample) {
	lsets := make([]labels.Labels, diskSeries)
	data := make([][]sample, diskSeries)
	for i := range lsets {
		b := labels.NewScratchBuilder(8)
		for _, l := range loadgen.MixStorage.Labels(i) {
			b.Add(l.Name, l.Value)
		}
		lsets[i] = b.Labels()
		for r := range diskSamples {
			data[i] = append(data[i], sample{t: diskStart + int64(r)*diskInterval, f: loadgen.MixStorage.Value(i, r)})
		}
	}
	return lsets, data
}

// fileBytes sizes a block directory's index, its chunk files and the rest.
func fileBytes(b *testing.B, dir string) (index, chunks, rest int64) {
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		switch {
		case filepath.Base(path) == "index":
			index += info.Size()
		case filepath.Base(filepath.Dir(path)) == "chunks":
			chunks += info.Size()
		default:
			rest += info.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return index, chunks, rest
}

func reportBlockBytes(b *testing.B, dir string, samples int) {
	index, chunks, rest := fileBytes(b, dir)
	n := float64(samples)
	b.ReportMetric(float64(index+chunks+rest)/n, "B/sample")
	b.ReportMetric(float64(index)/n, "index-B/sample")
	b.ReportMetric(float64(chunks)/n, "chunks-B/sample")
}

func BenchmarkDiskMixSideBySide(b *testing.B) {
	lsets, data := diskMixData()
	const maxt = diskStart + diskSamples*diskInterval
	total := diskSeries * diskSamples

	b.Run("mytsdb", func(b *testing.B) {
		m := &model{del: map[string]Intervals{}}
		for i, l := range lsets {
			m.series = append(m.series, &refSeries{lset: l, samples: data[i], chunks: [][]sample{data[i]}})
		}
		slices.SortFunc(m.series, func(a, b *refSeries) int { return labels.Compare(a.lset, b.lset) })
		var bdir string
		for b.Loop() {
			dir := b.TempDir()
			meta, err := Write(context.Background(), dir, m.set(), WriteOptions{MinTime: diskStart, MaxTime: maxt})
			if err != nil {
				b.Fatal(err)
			}
			bdir = filepath.Join(dir, meta.ULID.String())
		}
		reportBlockBytes(b, bdir, total)
	})

	b.Run("prometheus", func(b *testing.B) {
		var bdir string
		for b.Loop() {
			dir := b.TempDir()
			w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dir, 2*diskSamples*diskInterval)
			if err != nil {
				b.Fatal(err)
			}
			app := w.Appender(context.Background())
			for i, l := range lsets {
				var ref storage.SeriesRef
				for _, s := range data[i] {
					if ref, err = app.Append(ref, l, s.t, s.f); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := app.Commit(); err != nil {
				b.Fatal(err)
			}
			id, err := w.Flush(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			w.Close()
			bdir = filepath.Join(dir, id.String())
		}
		reportBlockBytes(b, bdir, total)
	})
}

// BenchmarkKindSizes encodes 120-sample chunks (30 min at 15 s) of each of
// loadgen's value kinds (node_exporter-like series: integer counters,
// float counters, 2-decimal and full-precision gauges, constants) in our
// codec and in upstream XOR, and reports the bytes of a chunk of each.
// Run with
//
//	go test ./storage/block/ -run '^$' -bench KindSizes -benchtime=1x
func BenchmarkKindSizes(b *testing.B) {
	kinds := []struct {
		k    loadgen.Kind
		name string
	}{
		{loadgen.Counter, "counter"}, {loadgen.SecondsCounter, "float-counter"}, {loadgen.Gauge2, "gauge-2-decimals"},
		{loadgen.GaugeFull, "gauge-full-precision"}, {loadgen.Constant, "constant"},
	}
	ours, xor, n := map[loadgen.Kind]int{}, map[loadgen.Kind]int{}, map[loadgen.Kind]int{}
	ts, vs := make([]int64, 120), make([]float64, 120)
	var buf []byte
	for i := range 2000 {
		k := loadgen.MixNode.Kind(i)
		c := chunkenc.NewXORChunk()
		app, err := c.Appender()
		if err != nil {
			b.Fatal(err)
		}
		for r := range ts {
			ts[r], vs[r] = diskStart+int64(r)*15_000, loadgen.MixNode.Value(i, r)
			app.Append(0, ts[r], vs[r])
		}
		if buf, err = ourchunks.AppendEncoded(buf[:0], ts, vs); err != nil {
			b.Fatal(err)
		}
		ours[k] += len(buf)
		xor[k] += len(c.Bytes())
		n[k]++
	}
	for _, kind := range kinds {
		k := kind.k
		if n[k] == 0 {
			continue
		}
		b.Run(kind.name, func(b *testing.B) {
			for b.Loop() {
			}
			b.ReportMetric(float64(ours[k])/float64(n[k]), "mytsdb-B/chunk")
			b.ReportMetric(float64(xor[k])/float64(n[k]), "xor-B/chunk")
			b.ReportMetric(float64(ours[k])/float64(xor[k]), "ratio")
		})
	}
}
