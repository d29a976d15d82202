package parquetstore

import (
	"bytes"
	"context"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
	"github.com/prometheus/prometheus/util/annotations"

	localblock "mytsdb/storage/block"
)

// headChunks builds chunks as Prometheus's head cuts them: each chunk after
// the first appended with the previous chunk's appender, so that its
// counter-reset header says what the head knew (not a counter reset, a
// counter reset, a gauge).
func headChunks(t *testing.T, float bool, groups [][]int, gauge bool) []chunks.Meta {
	t.Helper()
	var out []chunks.Meta
	var prev chunkenc.Appender
	ts := int64(0)
	for _, g := range groups {
		e := chunkenc.EncHistogram
		if float {
			e = chunkenc.EncFloatHistogram
		}
		c, err := chunkenc.NewEmptyChunk(e)
		if err != nil {
			t.Fatal(err)
		}
		app, err := c.Appender()
		if err != nil {
			t.Fatal(err)
		}
		m := chunks.Meta{MinTime: ts, Chunk: c}
		for _, v := range g {
			h := tsdbutil.GenerateTestHistogram(int64(v))
			if gauge {
				h.CounterResetHint = histogram.GaugeType
			}
			var nc chunkenc.Chunk
			if float {
				nc, _, app, err = app.AppendFloatHistogram(prev, 0, ts, h.ToFloat(nil), false)
			} else {
				nc, _, app, err = app.AppendHistogram(prev, 0, ts, h, false)
			}
			if err != nil || nc != nil {
				t.Fatalf("append %d: new chunk %v, %v", v, nc != nil, err)
			}
			prev = nil // only the chunk's first sample looks back
			m.MaxTime = ts
			ts += 15_000
		}
		prev = app
		out = append(out, m)
	}
	return out
}

type chunkListSet struct {
	series []storage.ChunkSeries
	i      int
}

func (l *chunkListSet) Next() bool                        { l.i++; return l.i < len(l.series) }
func (l *chunkListSet) At() storage.ChunkSeries           { return l.series[l.i] }
func (l *chunkListSet) Err() error                        { return nil }
func (l *chunkListSet) Warnings() annotations.Annotations { return nil }

// TestChunkQuerierKeepsHistogramChunks: the chunk querier of a Parquet
// block returns native histogram chunks byte for byte as the source block
// held them (chunk boundaries and counter-reset headers: unknown, not a
// counter reset, counter reset, gauge), as streamed remote read needs.
func TestChunkQuerierKeepsHistogramChunks(t *testing.T) {
	series := []storage.ChunkSeries{
		&storage.ChunkSeriesEntry{Lset: labels.FromStrings("__name__", "h_float"), ChunkIteratorFn: func(chunks.Iterator) chunks.Iterator {
			return storage.NewListChunkSeriesIterator(headChunks(t, true, [][]int{{1, 2, 3}, {4, 5}, {1, 2}}, false)...)
		}},
		&storage.ChunkSeriesEntry{Lset: labels.FromStrings("__name__", "h_gauge"), ChunkIteratorFn: func(chunks.Iterator) chunks.Iterator {
			return storage.NewListChunkSeriesIterator(headChunks(t, false, [][]int{{5, 3}, {4, 9, 2}}, true)...)
		}},
		&storage.ChunkSeriesEntry{Lset: labels.FromStrings("__name__", "h_int"), ChunkIteratorFn: func(chunks.Iterator) chunks.Iterator {
			return storage.NewListChunkSeriesIterator(headChunks(t, false, [][]int{{1, 2, 3}, {4, 5, 6, 7}, {2, 3}}, false)...)
		}},
	}
	dir := t.TempDir()
	meta, err := localblock.Write(context.Background(), dir, &chunkListSet{series: series, i: -1}, localblock.WriteOptions{MinTime: 0, MaxTime: 3_600_000})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := localblock.Open(dir+"/"+meta.ULID.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	bkt := fsBucket(t)
	upload(t, bkt, tenant, lb)
	ctx := context.Background()
	s, err := Open(ctx, bkt, tenant, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all := labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+")
	read := func(q storage.ChunkQuerier) map[string][]chunks.Meta {
		out := map[string][]chunks.Meta{}
		set := q.Select(ctx, true, nil, all)
		for set.Next() {
			it := set.At().Iterator(nil)
			for it.Next() {
				out[set.At().Labels().String()] = append(out[set.At().Labels().String()], it.At())
			}
			if it.Err() != nil {
				t.Fatal(it.Err())
			}
		}
		if set.Err() != nil || len(set.Warnings()) > 0 {
			t.Fatal(set.Err(), set.Warnings())
		}
		return out
	}
	lq, err := lb.ChunkQuerier(0, 3_600_000)
	if err != nil {
		t.Fatal(err)
	}
	defer lq.Close()
	pq, err := s.ChunkQuerier(0, 3_600_000)
	if err != nil {
		t.Fatal(err)
	}
	defer pq.Close()
	want, got := read(lq), read(pq)
	if len(want) != 3 {
		t.Fatalf("source block has %d series", len(want))
	}
	headers := map[chunkenc.CounterResetHeader]bool{}
	for k, ws := range want {
		gs := got[k]
		if len(gs) != len(ws) {
			t.Fatalf("%s: %d chunks from Parquet, %d in the source", k, len(gs), len(ws))
		}
		for i := range ws {
			headers[chunkenc.CounterResetHeader(ws[i].Chunk.Bytes()[2]&chunkenc.CounterResetHeaderMask)] = true
			if ws[i].MinTime != gs[i].MinTime || ws[i].MaxTime != gs[i].MaxTime || !bytes.Equal(ws[i].Chunk.Bytes(), gs[i].Chunk.Bytes()) {
				t.Fatalf("%s chunk %d: [%d, %d] %x from Parquet, [%d, %d] %x in the source", k, i,
					gs[i].MinTime, gs[i].MaxTime, gs[i].Chunk.Bytes()[:3], ws[i].MinTime, ws[i].MaxTime, ws[i].Chunk.Bytes()[:3])
			}
		}
	}
	for _, h := range []chunkenc.CounterResetHeader{chunkenc.UnknownCounterReset, chunkenc.NotCounterReset, chunkenc.CounterReset, chunkenc.GaugeType} {
		if !headers[h] {
			t.Errorf("the source lacks a chunk with header %08b: the test covers less than it says", h)
		}
	}
}
