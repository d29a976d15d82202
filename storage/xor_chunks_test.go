package storage

import (
	"context"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	ourchunks "mytsdb/storage/chunkenc"
)

// The tenant's ChunkQuerier (what remote read streams) hands out upstream
// encodings only, decodable by Prometheus's own chunkenc.FromData, with the
// samples its Querier returns, although blocks and the head's cut chunks
// hold mytsdb's codec underneath.
func TestChunkQuerierGivesUpstreamEncodings(t *testing.T) {
	db, tn, m := cutTenant(t, t.TempDir())
	defer db.Close()
	tn.Head().WaitRecoded()

	// Underneath: our codec in the blocks.
	ours := 0
	for _, b := range tn.blockList() {
		cq, err := b.ChunkQuerier(math.MinInt64, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		ss := cq.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
		for ss.Next() {
			it := ss.At().Iterator(nil)
			for it.Next() {
				if it.At().Chunk.Encoding() == ourchunks.EncFloat {
					ours++
				}
			}
		}
		cq.Close()
	}
	if ours == 0 {
		t.Fatal("no block chunk in mytsdb's codec: the conversion is not exercised")
	}

	cq, err := tn.ChunkQuerier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer cq.Close()
	got := blockModel{}
	ss := cq.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	for ss.Next() {
		s := ss.At()
		it := s.Iterator(nil)
		for it.Next() {
			meta := it.At()
			enc := meta.Chunk.Encoding()
			if !chunkenc.IsValidEncoding(enc) {
				t.Fatalf("%s: chunk of encoding %d leaves the storage", s.Labels(), enc)
			}
			c, err := chunkenc.FromData(enc, meta.Chunk.Bytes()) // As the receiving side decodes it.
			if err != nil {
				t.Fatal(err)
			}
			ci := c.Iterator(nil)
			for ci.Next() == chunkenc.ValFloat {
				tt, v := ci.At()
				got.add(s.Labels(), point{tt, v})
			}
			if err := ci.Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	if d := diffModels(m, got); d != "" {
		t.Fatalf("chunks from the tenant's ChunkQuerier:\n%s", d)
	}
}
