package parquetstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/thanos-io/objstore"
)

// verifyCacheBytes is the cache of the reader Verify opens: it reads the
// block once, in order.
const verifyCacheBytes = 32 << 20

// Verify re-reads the uploaded block from the bucket and compares it with
// q series by series (labels, every sample's timestamp and bits), after
// checking each object's size and CRC32C against meta.json. Only after it
// returns nil may the local copy go.
func Verify(ctx context.Context, bkt objstore.Bucket, tenant string, meta BlockMeta, q storage.ChunkQuerier) error {
	if err := verify(ctx, bkt, tenant, meta, q); err != nil {
		return fmt.Errorf("parquetstore: verify block %s/%s: %w", tenant, meta.ULID, err)
	}
	return nil
}

func verify(ctx context.Context, bkt objstore.Bucket, tenant string, want BlockMeta, q storage.ChunkQuerier) error {
	s := &Store{bkt: bkt, tenant: tenant, logger: slog.New(slog.DiscardHandler), m: newMetrics(nil)}
	s.cache = newCache(verifyCacheBytes, s.m)
	meta, err := s.readMeta(ctx, want.ULID)
	if err != nil {
		return err
	}
	if meta.MinTime != want.MinTime || meta.MaxTime != want.MaxTime {
		return fmt.Errorf("meta.json range [%d, %d), want [%d, %d)", meta.MinTime, meta.MaxTime, want.MinTime, want.MaxTime)
	}
	for _, f := range meta.Files {
		if err := checkObject(ctx, bkt, objectName(tenant, meta.ULID, f.Name), f); err != nil {
			return err
		}
	}
	b := &block{meta: meta, tenant: tenant, bkt: bkt, cache: s.cache, m: s.m}
	bq := &blockQuerier{b: b, mint: meta.MinTime, maxt: meta.MaxTime - 1, s: s}
	all := labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".*")
	hints := &storage.SelectHints{Start: meta.MinTime, End: meta.MaxTime - 1}
	got, warns := bq.selectSeries(ctx, hints, []*labels.Matcher{all})
	if len(warns) > 0 {
		return warns.AsErrors()[0]
	}
	src := q.Select(ctx, true, hints, all)
	var (
		n        int
		nSamples uint64
		srcIt    chunkenc.Iterator
	)
	for src.Next() {
		cs := src.At()
		// Gather the source series' samples in range, in order.
		var samples []histSample
		var fts []int64
		var fvs []float64
		chks := cs.Iterator(nil)
		for chks.Next() {
			srcIt = chks.At().Chunk.Iterator(srcIt)
			for vt := srcIt.Next(); vt != chunkenc.ValNone; vt = srcIt.Next() {
				t := srcIt.AtT()
				if t < meta.MinTime || t >= meta.MaxTime {
					continue
				}
				switch vt {
				case chunkenc.ValFloat:
					_, v := srcIt.At()
					fts, fvs = append(fts, t), append(fvs, v)
				case chunkenc.ValHistogram:
					_, h := srcIt.AtHistogram(nil)
					samples = append(samples, histSample{t: t, h: h})
				case chunkenc.ValFloatHistogram:
					_, fh := srcIt.AtFloatHistogram(nil)
					samples = append(samples, histSample{t: t, fh: fh})
				}
			}
			if err := srcIt.Err(); err != nil {
				return fmt.Errorf("source series %s: %w", cs.Labels(), err)
			}
		}
		if err := chks.Err(); err != nil {
			return fmt.Errorf("source series %s: %w", cs.Labels(), err)
		}
		if len(fts)+len(samples) == 0 {
			continue
		}
		if !got.Next() {
			if err := firstErr(got); err != nil {
				return err
			}
			return fmt.Errorf("series %s missing from the bucket", cs.Labels())
		}
		g := got.At().(*memSeries)
		if !labels.Equal(g.lset, cs.Labels()) {
			return fmt.Errorf("series %d is %s in the bucket, %s in the source", n, g.lset, cs.Labels())
		}
		if len(g.ts) != len(fts) || len(g.hists) != len(samples) {
			return fmt.Errorf("series %s: %d floats and %d histograms in the bucket, %d and %d in the source",
				g.lset, len(g.ts), len(g.hists), len(fts), len(samples))
		}
		for i := range fts {
			if g.ts[i] != fts[i] || math.Float64bits(g.vs[i]) != math.Float64bits(fvs[i]) {
				return fmt.Errorf("series %s: float %d is (%d, %x) in the bucket, (%d, %x) in the source",
					g.lset, i, g.ts[i], math.Float64bits(g.vs[i]), fts[i], math.Float64bits(fvs[i]))
			}
		}
		for i := range samples {
			if err := sameHistogram(g.hists[i], samples[i]); err != nil {
				return fmt.Errorf("series %s: histogram %d: %w", g.lset, i, err)
			}
		}
		n++
		nSamples += uint64(len(fts) + len(samples))
	}
	if err := src.Err(); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if got.Next() {
		return fmt.Errorf("series %s in the bucket, not in the source", got.At().Labels())
	}
	if err := firstErr(got); err != nil {
		return err
	}
	if uint64(n) != meta.NumSeries || nSamples != meta.NumSamples {
		return fmt.Errorf("meta.json counts %d series and %d samples, the source %d and %d", meta.NumSeries, meta.NumSamples, n, nSamples)
	}
	return nil
}

func firstErr(s *memSeriesSet) error {
	if s.Err() != nil {
		return s.Err()
	}
	if len(s.warns) > 0 {
		return s.warns.AsErrors()[0]
	}
	return nil
}

func checkObject(ctx context.Context, bkt objstore.Bucket, name string, f FileMeta) error {
	rc, err := bkt.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("get %s: %w", name, err)
	}
	defer rc.Close()
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, rc)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if n != f.Size {
		return fmt.Errorf("%s: %d bytes, meta.json says %d", name, n, f.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.CRC32C {
		return fmt.Errorf("%s: CRC32C %s, meta.json says %s", name, sum, f.CRC32C)
	}
	return nil
}

// sameHistogram compares two histogram samples exactly: same type, same
// fields, every float by its bits.
func sameHistogram(got, want histSample) error {
	if got.t != want.t {
		return fmt.Errorf("timestamp %d, want %d", got.t, want.t)
	}
	if (got.h == nil) != (want.h == nil) {
		return fmt.Errorf("integer histogram %v, want %v", got.h != nil, want.h != nil)
	}
	var a, b *histogram.FloatHistogram
	if got.h != nil {
		if got.h.Count != want.h.Count || got.h.ZeroCount != want.h.ZeroCount || !equalInts(got.h.PositiveBuckets, want.h.PositiveBuckets) || !equalInts(got.h.NegativeBuckets, want.h.NegativeBuckets) {
			return fmt.Errorf("integer counts differ: %v, want %v", got.h, want.h)
		}
		a, b = got.h.ToFloat(nil), want.h.ToFloat(nil)
	} else {
		a, b = got.fh, want.fh
	}
	if a.CounterResetHint != b.CounterResetHint || a.Schema != b.Schema ||
		!sameFloats([]float64{a.ZeroThreshold, a.ZeroCount, a.Count, a.Sum}, []float64{b.ZeroThreshold, b.ZeroCount, b.Count, b.Sum}) ||
		!equalSpans(a.PositiveSpans, b.PositiveSpans) || !equalSpans(a.NegativeSpans, b.NegativeSpans) ||
		!sameFloats(a.PositiveBuckets, b.PositiveBuckets) || !sameFloats(a.NegativeBuckets, b.NegativeBuckets) ||
		!sameFloats(a.CustomValues, b.CustomValues) {
		return fmt.Errorf("%v, want %v", a, b)
	}
	return nil
}

func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalSpans(a, b []histogram.Span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
