package parquetstore

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/thanos-io/objstore"
)

// uploadFailingBucket fails the Upload of objects whose name contains
// fail, after reading part of them: a crash or outage mid-upload.
type uploadFailingBucket struct {
	objstore.Bucket
	fail string
}

func (b *uploadFailingBucket) Upload(ctx context.Context, name string, r io.Reader, opts ...objstore.ObjectUploadOption) error {
	if b.fail != "" && strings.Contains(name, b.fail) {
		// Leave a partial object behind, as a crash would.
		part := make([]byte, 100)
		n, _ := io.ReadFull(r, part)
		_ = b.Bucket.Upload(ctx, name, strings.NewReader(string(part[:n])))
		return errOutage
	}
	return b.Bucket.Upload(ctx, name, r, opts...)
}

// TestWriteInterruptedThenRepeated: an upload that fails at any object
// leaves no visible block (no meta.json); writing again completes it,
// Verify passes and the data is the model's.
func TestWriteInterruptedThenRepeated(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	m := genModel(r, 20, 0, 2*3600_000, 15_000)
	lb := localBlock(t, m)
	lm := lb.Meta()
	q, err := lb.ChunkQuerier(lm.MinTime, lm.MaxTime-1)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	meta := BlockMeta{ULID: lm.ULID, MinTime: lm.MinTime, MaxTime: lm.MaxTime}
	for _, fail := range []string{SamplesFile, HistogramsFile, SeriesFile, MetaFile} {
		t.Run(fail, func(t *testing.T) {
			fb := fsBucket(t)
			bkt := &uploadFailingBucket{Bucket: fb, fail: fail}
			if err := Write(ctx, bkt, tenant, meta, q); !errors.Is(err, errOutage) {
				t.Fatalf("Write with %s failing: %v, want the outage", fail, err)
			}
			s, err := Open(ctx, fb, tenant, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(s.Blocks()); n != 0 {
				t.Fatalf("%d blocks visible after an interrupted upload", n)
			}
			if err := Verify(ctx, fb, tenant, meta, q); err == nil {
				t.Fatal("Verify passes an interrupted upload")
			}
			bkt.fail = ""
			if err := Write(ctx, bkt, tenant, meta, q); err != nil {
				t.Fatal(err)
			}
			if err := Verify(ctx, fb, tenant, meta, q); err != nil {
				t.Fatal(err)
			}
			if err := s.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(s.Blocks()); n != 1 {
				t.Fatalf("%d blocks after the repeated upload", n)
			}
			got, warns := queryAll(t, s, m.mint, m.maxt)
			if len(warns) > 0 {
				t.Fatal(warns)
			}
			compareSeries(t, "after repeated upload", got, m.want(m.mint, m.maxt))
			s.Close()
		})
	}
}

// TestDeleteAndSync: Delete removes meta.json first and then the data, a
// second Store sees the block go at its next Sync, and a Delete that
// stopped after meta.json leaves a block nobody lists.
func TestDeleteAndSync(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	bkt := fsBucket(t)
	a := upload(t, bkt, tenant, localBlock(t, genModel(r, 5, 0, 3600_000, 60_000)))
	b := upload(t, bkt, tenant, localBlock(t, genModel(r, 5, 3600_000, 7200_000, 60_000)))
	ctx := context.Background()
	s1, err := Open(ctx, bkt, tenant, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := Open(ctx, bkt, tenant, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if bs := s2.Blocks(); len(bs) != 2 || bs[0].ULID != a.ULID || bs[1].ULID != b.ULID {
		t.Fatalf("blocks %v, want %s and %s by MinTime", bs, a.ULID, b.ULID)
	}
	if err := s1.Delete(ctx, a.ULID); err != nil {
		t.Fatal(err)
	}
	var left []string
	if err := bkt.Iter(ctx, blockDir(tenant, a.ULID)+"/", func(n string) error { left = append(left, n); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("objects left after Delete: %v", left)
	}
	if bs := s1.Blocks(); len(bs) != 1 || bs[0].ULID != b.ULID {
		t.Fatalf("deleting store lists %v", bs)
	}
	if err := s2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if bs := s2.Blocks(); len(bs) != 1 || bs[0].ULID != b.ULID {
		t.Fatalf("other store lists %v after Sync", bs)
	}
	// A Delete interrupted after meta.json: the rest is invisible.
	if err := bkt.Delete(ctx, objectName(tenant, b.ULID, MetaFile)); err != nil {
		t.Fatal(err)
	}
	if err := s2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if bs := s2.Blocks(); len(bs) != 0 {
		t.Fatalf("lists %v after meta.json went", bs)
	}
	// And Delete finishes it.
	if err := s2.Delete(ctx, b.ULID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := bkt.Exists(ctx, objectName(tenant, b.ULID, SamplesFile)); ok {
		t.Fatal("Delete left samples.parquet")
	}
}

// TestParentsReplaced: a block naming another as its parent (a rewrite
// without deleted series, interrupted before the old block was deleted)
// hides it from Blocks and every querier; Replaced lists it until Delete.
func TestParentsReplaced(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	bkt := fsBucket(t)
	m := genModel(r, 5, 0, 3600_000, 60_000)
	lb := localBlock(t, m)
	old := upload(t, bkt, tenant, lb)
	ctx := context.Background()
	lm := lb.Meta()
	succ := BlockMeta{ULID: ulid.Make(), MinTime: lm.MinTime, MaxTime: lm.MaxTime, Level: lm.Compaction.Level,
		Sources: lm.Compaction.Sources, Parents: []ulid.ULID{old.ULID}}
	q, err := lb.ChunkQuerier(lm.MinTime, lm.MaxTime-1)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := Write(ctx, bkt, tenant, succ, q); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, bkt, tenant, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if bs := s.Blocks(); len(bs) != 1 || bs[0].ULID != succ.ULID || !slices.Equal(bs[0].Parents, []ulid.ULID{old.ULID}) {
		t.Fatalf("blocks %+v, want only %s naming %s", bs, succ.ULID, old.ULID)
	}
	if rs := s.Replaced(); !slices.Equal(rs, []ulid.ULID{old.ULID}) {
		t.Fatalf("replaced %v, want %s", rs, old.ULID)
	}
	if _, err := s.BlockChunkQuerier(old.ULID); !errors.Is(err, ErrNotListed) {
		t.Fatalf("BlockChunkQuerier of the replaced block: %v", err)
	}
	bq, err := s.BlockChunkQuerier(succ.ULID)
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	compareSeries(t, "successor", gotChunkSeries(t, bq.Select(ctx, true, nil, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))),
		m.want(m.mint, m.maxt-1, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+")))
	if err := s.Delete(ctx, old.ULID); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if rs := s.Replaced(); len(rs) != 0 {
		t.Fatalf("replaced %v after Delete", rs)
	}
}
