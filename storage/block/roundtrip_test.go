package block

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

const testSpan = 20000

// writeModel writes m's input into a block of [mint, maxt) under dir and
// opens it.
func writeModel(t testing.TB, dir string, m *model, mint, maxt int64) (*Block, Meta) {
	t.Helper()
	meta, err := Write(context.Background(), dir, m.set(), WriteOptions{MinTime: mint, MaxTime: maxt})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir+"/"+meta.ULID.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, meta
}

func randRange(r *rand.Rand) (int64, int64) {
	switch r.IntN(6) {
	case 0:
		return math.MinInt64, math.MaxInt64
	case 1:
		t := r.Int64N(testSpan)
		return t, t
	}
	a, b := r.Int64N(testSpan+2000)-1000, r.Int64N(testSpan+2000)-1000
	return min(a, b), max(a, b)
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	full := genModel(r, 80, testSpan)
	// The block's range cuts the data at both ends, so Write trims chunks.
	const bmin, bmax = 1500, testSpan - 3000
	m := full.trimmed(bmin, bmax-1)
	b, meta := writeModel(t, t.TempDir(), full, bmin, bmax)

	var wantSamples, wantFloats uint64
	for _, s := range m.series {
		wantSamples += uint64(len(s.samples))
		for _, smp := range s.samples {
			if smp.Type() == chunkenc.ValFloat {
				wantFloats++
			}
		}
	}
	if meta.Stats.NumSeries != uint64(len(m.series)) || meta.Stats.NumSamples != wantSamples ||
		meta.Stats.NumFloatSamples != wantFloats || meta.Stats.NumHistogramSamples != wantSamples-wantFloats {
		t.Fatalf("stats %+v, want %d series, %d samples (%d floats)", meta.Stats, len(m.series), wantSamples, wantFloats)
	}
	if b.Meta().ULID != meta.ULID || b.MinTime() != bmin || b.MaxTime() != bmax || b.Size() <= 0 {
		t.Fatalf("block %v [%d, %d) size %d", b.Meta(), b.MinTime(), b.MaxTime(), b.Size())
	}
	checkQueries(t, r, b, m, 250)
}

// checkQueries runs n random queries of every kind against b and m.
func checkQueries(t *testing.T, r *rand.Rand, b *Block, m *model, n int) {
	t.Helper()
	ctx := context.Background()
	for range n {
		ms := genMatchers(r)
		mint, maxt := randRange(r)
		q, err := b.Querier(mint, maxt)
		if err != nil {
			t.Fatal(err)
		}
		cq, err := b.ChunkQuerier(mint, maxt)
		if err != nil {
			t.Fatal(err)
		}
		want := m.query(mint, maxt, ms)
		checkSelect(t, q, want, nil, ms)
		checkChunkSelect(t, cq, want, nil, ms)

		// Hints override the querier's range.
		hmin, hmax := randRange(r)
		hwant := m.query(hmin, hmax, ms)
		checkSelect(t, q, hwant, &storage.SelectHints{Start: hmin, End: hmax}, ms)
		checkChunkSelect(t, cq, hwant, &storage.SelectHints{Start: hmin, End: hmax}, ms)

		// Limit.
		if len(want) > 1 {
			checkSelect(t, q, want[:1], &storage.SelectHints{Start: mint, End: maxt, Limit: 1}, ms)
		}
		// Func "series": the same series, no samples.
		ss := q.Select(ctx, true, &storage.SelectHints{Start: mint, End: maxt, Func: "series"}, ms...)
		i := 0
		for ; ss.Next(); i++ {
			if !labels.Equal(ss.At().Labels(), want[i].lset) || ss.At().Iterator(nil).Next() != chunkenc.ValNone {
				t.Fatalf("series hint: series %d %s", i, ss.At().Labels())
			}
		}
		if ss.Err() != nil || i != len(want) {
			t.Fatalf("series hint: %d series, want %d (%v)", i, len(want), ss.Err())
		}
		checkNoTrim(t, q, m, mint, maxt, ms)
		checkSeek(t, r, q, want, mint, maxt, ms)

		name := []string{labels.MetricName, "job", "instance", "zone", "missing"}[r.IntN(5)]
		var lms []*labels.Matcher
		if r.IntN(3) > 0 {
			lms = ms
		}
		vals, _, err := q.LabelValues(ctx, name, nil, lms...)
		if err != nil || vals == nil || !slices.Equal(vals, m.labelValues(name, lms)) {
			t.Fatalf("LabelValues(%s, %v) = %q, %v; want %q", name, lms, vals, err, m.labelValues(name, lms))
		}
		names, _, err := q.LabelNames(ctx, nil, lms...)
		if err != nil || names == nil || !slices.Equal(names, m.labelNames(lms)) {
			t.Fatalf("LabelNames(%v) = %q, %v; want %q", lms, names, err, m.labelNames(lms))
		}
		if len(vals) > 1 {
			for _, n := range []int{1, 2} {
				lim, _, _ := q.LabelValues(ctx, name, &storage.LabelHints{Limit: n}, lms...)
				if want := m.labelValuesLimit(name, lms, n); !slices.Equal(lim, want) {
					t.Fatalf("LabelValues(%s, %v) limit %d = %q, want %q", name, lms, n, lim, want)
				}
			}
		}
		if len(names) > 1 {
			lim, _, _ := q.LabelNames(ctx, &storage.LabelHints{Limit: 1}, lms...)
			if !slices.Equal(lim, names[:1]) {
				t.Fatalf("LabelNames limit 1 = %q, want %q", lim, names[:1])
			}
		}
		q.Close()
		cq.Close()
	}
}

// checkNoTrim: with DisableTrimming a series returns every sample of its
// chunks that overlap the range (not deleted): all in-range samples and
// only samples of the series.
func checkNoTrim(t *testing.T, q storage.Querier, m *model, mint, maxt int64, ms []*labels.Matcher) {
	t.Helper()
	want := m.query(mint, maxt, ms)
	all := m.query(math.MinInt64, math.MaxInt64, ms)
	ss := q.Select(context.Background(), true, &storage.SelectHints{Start: mint, End: maxt, DisableTrimming: true}, ms...)
	i, j := 0, 0
	for ; ss.Next(); i++ {
		got := readSamples(t, ss.At().Iterator(nil))
		for j < len(all) && !labels.Equal(all[j].lset, want[i].lset) {
			j++
		}
		if !labels.Equal(ss.At().Labels(), want[i].lset) {
			t.Fatalf("no trim: series %s, want %s", ss.At().Labels(), want[i].lset)
		}
		// got must contain want[i] and be a contiguous run of all[j].
		k := slices.IndexFunc(all[j].samples, func(s sample) bool { return s.t == got[0].t })
		if k < 0 || k+len(got) > len(all[j].samples) {
			t.Fatalf("no trim %s: samples not from the series", want[i].lset)
		}
		if err := sameSamples(got, all[j].samples[k:k+len(got)]); err != nil {
			t.Fatalf("no trim %s: %v", want[i].lset, err)
		}
		if got[0].t > want[i].samples[0].t || got[len(got)-1].t < want[i].samples[len(want[i].samples)-1].t {
			t.Fatalf("no trim %s: misses in-range samples", want[i].lset)
		}
	}
	if ss.Err() != nil || i != len(want) {
		t.Fatalf("no trim: %d series, want %d (%v)", i, len(want), ss.Err())
	}
}

// checkSeek compares random Seek/Next sequences with the model.
func checkSeek(t *testing.T, r *rand.Rand, q storage.Querier, want []*refSeries, mint, maxt int64, ms []*labels.Matcher) {
	t.Helper()
	ss := q.Select(context.Background(), true, &storage.SelectHints{Start: mint, End: maxt}, ms...)
	var it chunkenc.Iterator
	for i := 0; ss.Next(); i++ {
		smps := want[i].samples
		it = ss.At().Iterator(it) // reused across series
		pos := -1                 // index of the current sample; len = exhausted
		for range 20 {
			if r.IntN(3) == 0 {
				vt := it.Next()
				pos++
				if pos >= len(smps) {
					if vt != chunkenc.ValNone {
						t.Fatalf("%s: Next past the end gave %v", want[i].lset, vt)
					}
					pos = len(smps)
					continue
				}
				if err := sameSample(atSample(it, vt), smps[pos]); err != nil {
					t.Fatalf("%s: Next: %v", want[i].lset, err)
				}
				continue
			}
			target := smps[0].t - 5 + r.Int64N(smps[len(smps)-1].t-smps[0].t+10)
			if r.IntN(4) == 0 && pos >= 0 && pos < len(smps) {
				target = smps[pos].t - int64(r.IntN(3)) // no-op seeks
			}
			vt := it.Seek(target)
			if pos < len(smps) && (pos < 0 || smps[pos].t < target) {
				pos = max(pos, 0)
				for pos < len(smps) && smps[pos].t < target {
					pos++
				}
			}
			if pos >= len(smps) {
				if vt != chunkenc.ValNone {
					t.Fatalf("%s: Seek(%d) past the end gave %v", want[i].lset, target, vt)
				}
				continue
			}
			if err := sameSample(atSample(it, vt), smps[pos]); err != nil {
				t.Fatalf("%s: Seek(%d): %v", want[i].lset, target, err)
			}
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
	}
}

// TestSegmentSize: a small SegmentSize splits the chunks over many segment
// files, and the block reads back the same.
func TestSegmentSize(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	m := genModel(r, 40, testSpan)
	dir := t.TempDir()
	meta, err := Write(context.Background(), dir, m.set(), WriteOptions{MinTime: 0, MaxTime: testSpan, SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	segs, err := os.ReadDir(filepath.Join(dir, meta.ULID.String(), "chunks"))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 3 {
		t.Fatalf("%d segment files with a 4 KiB segment size", len(segs))
	}
	for _, s := range segs {
		if fi, _ := s.Info(); fi.Size() > 4096+64<<10 { // One chunk may exceed the target.
			t.Fatalf("segment %s is %d bytes", s.Name(), fi.Size())
		}
	}
	b, err := Open(filepath.Join(dir, meta.ULID.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	checkQueries(t, r, b, m.trimmed(0, testSpan), 40)
}
