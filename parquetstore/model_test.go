package parquetstore

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"

	localblock "mytsdb/storage/block"
)

// The tests' reference model: the series and samples given to a real local
// block (mytsdb/storage/block), which is the source Write reads. What the
// Parquet queriers return is compared with the model, not with the block.

type sample struct {
	t  int64
	f  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

func (s sample) T() int64                      { return s.t }
func (s sample) ST() int64                     { return 0 }
func (s sample) F() float64                    { return s.f }
func (s sample) H() *histogram.Histogram       { return s.h }
func (s sample) FH() *histogram.FloatHistogram { return s.fh }
func (s sample) Type() chunkenc.ValueType {
	switch {
	case s.h != nil:
		return chunkenc.ValHistogram
	case s.fh != nil:
		return chunkenc.ValFloatHistogram
	}
	return chunkenc.ValFloat
}
func (s sample) Copy() chunks.Sample {
	c := s
	if s.h != nil {
		c.h = s.h.Copy()
	}
	if s.fh != nil {
		c.fh = s.fh.Copy()
	}
	return c
}

type refSeries struct {
	lset    labels.Labels
	samples []sample
	chunks  [][]sample
}

type model struct {
	mint, maxt int64 // the block's [mint, maxt)
	series     []refSeries
}

// genFloat returns values that stress bit-exactness: NaNs (plain and
// stale markers), infinities, negative zero, integers and noise.
func genFloat(r *rand.Rand) float64 {
	switch r.IntN(12) {
	case 0:
		return math.NaN()
	case 1:
		return math.Float64frombits(value.StaleNaN)
	case 2:
		return math.Inf(1)
	case 3:
		return math.Inf(-1)
	case 4:
		return math.Copysign(0, -1)
	case 5, 6:
		return float64(r.IntN(1000))
	default:
		return r.NormFloat64() * 1e3
	}
}

// genModel makes n series over [mint, maxt): most float, some integer or
// float native histograms, some changing type between chunks; label sets
// of different shapes so that label columns have nulls.
func genModel(r *rand.Rand, n int, mint, maxt int64, step int64) *model {
	m := &model{mint: mint, maxt: maxt}
	seen := map[string]bool{}
	for len(m.series) < n {
		b := labels.NewScratchBuilder(4)
		b.Add(labels.MetricName, fmt.Sprintf("metric_%d", r.IntN(max(1, n/5))))
		b.Add("instance", fmt.Sprintf("host-%d:9100", r.IntN(50)))
		if r.IntN(3) == 0 {
			b.Add("job", []string{"node", "api", "db"}[r.IntN(3)])
		}
		if r.IntN(5) == 0 {
			b.Add("le", fmt.Sprint(r.IntN(10)))
		}
		b.Sort()
		lset := b.Labels()
		if seen[lset.String()] {
			continue
		}
		seen[lset.String()] = true
		m.series = append(m.series, genSeries(r, lset, mint, maxt, step))
	}
	slices.SortFunc(m.series, func(a, b refSeries) int { return labels.Compare(a.lset, b.lset) })
	return m
}

func genSeries(r *rand.Rand, lset labels.Labels, mint, maxt, step int64) refSeries {
	s := refSeries{lset: lset}
	kind := r.IntN(10) // 0: int histograms, 1: float histograms, 2: mixed, else floats
	t := mint + r.Int64N(step)
	for c := 0; t < maxt; c++ {
		vt := chunkenc.ValFloat
		switch {
		case kind == 0:
			vt = chunkenc.ValHistogram
		case kind == 1:
			vt = chunkenc.ValFloatHistogram
		case kind == 2:
			vt = []chunkenc.ValueType{chunkenc.ValFloat, chunkenc.ValHistogram, chunkenc.ValFloatHistogram}[c%3]
		}
		var chk []sample
		// One histogram layout per chunk: a chunk holds one kind of bucket
		// layout (custom or exponential).
		hk := r.IntN(3)
		for i := 0; i < 120 && t < maxt; i++ {
			smp := sample{t: t}
			switch vt {
			case chunkenc.ValHistogram:
				switch hk {
				case 0:
					smp.h = tsdbutil.GenerateTestCustomBucketsHistogram(int64(i))
				case 1:
					smp.h = tsdbutil.GenerateTestGaugeHistogram(int64(r.IntN(50)))
				default:
					smp.h = tsdbutil.GenerateTestHistogram(int64(i))
				}
				smp.h.CounterResetHint = histogram.GaugeType
			case chunkenc.ValFloatHistogram:
				if hk == 0 {
					smp.fh = tsdbutil.GenerateTestCustomBucketsFloatHistogram(int64(i))
				} else {
					smp.fh = tsdbutil.GenerateTestGaugeFloatHistogram(int64(r.IntN(50)))
				}
				smp.fh.CounterResetHint = histogram.GaugeType
			default:
				smp.f = genFloat(r)
			}
			chk = append(chk, smp)
			t += step/2 + r.Int64N(step)
		}
		s.chunks = append(s.chunks, chk)
		s.samples = append(s.samples, chk...)
	}
	return s
}

func (m *model) set() storage.ChunkSeriesSet {
	var out []storage.ChunkSeries
	for _, s := range m.series {
		var in [][]chunks.Sample
		for _, c := range s.chunks {
			cs := make([]chunks.Sample, len(c))
			for i, smp := range c {
				cs[i] = smp
			}
			in = append(in, cs)
		}
		out = append(out, storage.NewListChunkSeriesFromSamples(s.lset, in...))
	}
	return &listChunkSet{series: out, i: -1}
}

type listChunkSet struct {
	series []storage.ChunkSeries
	i      int
}

func (l *listChunkSet) Next() bool                        { l.i++; return l.i < len(l.series) }
func (l *listChunkSet) At() storage.ChunkSeries           { return l.series[l.i] }
func (l *listChunkSet) Err() error                        { return nil }
func (l *listChunkSet) Warnings() annotations.Annotations { return nil }

func matchesAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// want returns the model's series the matchers select with their samples
// in [mint, maxt], leaving out series with none.
func (m *model) want(mint, maxt int64, ms ...*labels.Matcher) []refSeries {
	var out []refSeries
	for _, s := range m.series {
		if !matchesAll(s.lset, ms) {
			continue
		}
		var smps []sample
		for _, x := range s.samples {
			if x.t >= mint && x.t <= maxt {
				smps = append(smps, x)
			}
		}
		if len(smps) > 0 {
			out = append(out, refSeries{lset: s.lset, samples: smps})
		}
	}
	return out
}

// localBlock writes the model into a real local block and returns it open.
func localBlock(t testing.TB, m *model) *localblock.Block {
	t.Helper()
	dir := t.TempDir()
	meta, err := localblock.Write(context.Background(), dir, m.set(), localblock.WriteOptions{MinTime: m.mint, MaxTime: m.maxt})
	if err != nil {
		t.Fatal(err)
	}
	b, err := localblock.Open(dir+"/"+meta.ULID.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func fsBucket(t testing.TB) objstore.Bucket {
	t.Helper()
	bkt, err := filesystem.NewBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bkt
}

// upload writes the local block to the bucket with Write and checks it
// with Verify, as the tier does.
func upload(t testing.TB, bkt objstore.Bucket, tenant string, lb *localblock.Block) BlockMeta {
	t.Helper()
	lm := lb.Meta()
	meta := BlockMeta{ULID: lm.ULID, MinTime: lm.MinTime, MaxTime: lm.MaxTime, Level: lm.Compaction.Level, Sources: lm.Compaction.Sources}
	q, err := lb.ChunkQuerier(lm.MinTime, lm.MaxTime-1)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	if err := Write(ctx, bkt, tenant, meta, q); err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, bkt, tenant, meta, q); err != nil {
		t.Fatal(err)
	}
	return meta
}

// gotSeries reads a series set into the model's shape.
func gotSeries(t testing.TB, ss storage.SeriesSet) []refSeries {
	t.Helper()
	var out []refSeries
	var it chunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		rs := refSeries{lset: s.Labels()}
		it = s.Iterator(it)
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			rs.samples = append(rs.samples, atSample(it, vt))
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		out = append(out, rs)
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	if w := ss.Warnings(); len(w) > 0 {
		t.Fatalf("warnings: %v", w.AsErrors())
	}
	return out
}

func atSample(it chunkenc.Iterator, vt chunkenc.ValueType) sample {
	switch vt {
	case chunkenc.ValHistogram:
		ts, h := it.AtHistogram(nil)
		return sample{t: ts, h: h}
	case chunkenc.ValFloatHistogram:
		ts, fh := it.AtFloatHistogram(nil)
		return sample{t: ts, fh: fh}
	}
	ts, v := it.At()
	return sample{t: ts, f: v}
}

func gotChunkSeries(t testing.TB, ss storage.ChunkSeriesSet) []refSeries {
	t.Helper()
	var out []refSeries
	var it chunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		rs := refSeries{lset: s.Labels()}
		chks := s.Iterator(nil)
		for chks.Next() {
			it = chks.At().Chunk.Iterator(it)
			for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
				rs.samples = append(rs.samples, atSample(it, vt))
			}
		}
		if err := chks.Err(); err != nil {
			t.Fatal(err)
		}
		out = append(out, rs)
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	if w := ss.Warnings(); len(w) > 0 {
		t.Fatalf("warnings: %v", w.AsErrors())
	}
	return out
}

// compareSeries fails unless got and want hold the same series with the
// same samples, floats compared by their bits.
func compareSeries(t testing.TB, what string, got, want []refSeries) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d series, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !labels.Equal(g.lset, w.lset) {
			t.Fatalf("%s: series %d is %s, want %s", what, i, g.lset, w.lset)
		}
		if len(g.samples) != len(w.samples) {
			t.Fatalf("%s: %s: %d samples, want %d", what, w.lset, len(g.samples), len(w.samples))
		}
		for j := range w.samples {
			if err := sameSample(g.samples[j], w.samples[j]); err != nil {
				t.Fatalf("%s: %s: sample %d: %v", what, w.lset, j, err)
			}
		}
	}
}

func sameSample(g, w sample) error {
	if g.Type() != w.Type() {
		return fmt.Errorf("type %v, want %v", g.Type(), w.Type())
	}
	if g.t != w.t {
		return fmt.Errorf("t=%d, want %d", g.t, w.t)
	}
	switch w.Type() {
	case chunkenc.ValFloat:
		if math.Float64bits(g.f) != math.Float64bits(w.f) {
			return fmt.Errorf("value %x, want %x", math.Float64bits(g.f), math.Float64bits(w.f))
		}
		return nil
	case chunkenc.ValHistogram:
		return sameHistogram(histSample{t: g.t, h: g.h}, histSample{t: w.t, h: w.h})
	default:
		return sameHistogram(histSample{t: g.t, fh: g.fh}, histSample{t: w.t, fh: w.fh})
	}
}

func newULID() ulid.ULID { return ulid.Make() }
