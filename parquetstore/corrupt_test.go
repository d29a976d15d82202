package parquetstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/thanos-io/objstore"
)

func readObject(t testing.TB, bkt objstore.Bucket, name string) []byte {
	t.Helper()
	rc, err := bkt.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func putObject(t testing.TB, bkt objstore.Bucket, name string, b []byte) {
	t.Helper()
	if err := bkt.Upload(context.Background(), name, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

// replaceObject puts b in place of a block's data object and fixes the
// object's size in meta.json (a reader must not trust the rest).
func replaceObject(t testing.TB, bkt objstore.Bucket, meta BlockMeta, file string, b []byte) {
	t.Helper()
	putObject(t, bkt, objectName(tenant, meta.ULID, file), b)
	var m BlockMeta
	if err := json.Unmarshal(readObject(t, bkt, objectName(tenant, meta.ULID, MetaFile)), &m); err != nil {
		t.Fatal(err)
	}
	for i := range m.Files {
		if m.Files[i].Name == file {
			m.Files[i].Size = int64(len(b))
			m.Files[i].TailOffset = min(m.Files[i].TailOffset, int64(len(b)))
			m.Files[i].FooterOffset = min(m.Files[i].FooterOffset, int64(len(b)))
		}
	}
	mb, _ := json.Marshal(m)
	putObject(t, bkt, objectName(tenant, meta.ULID, MetaFile), mb)
}

// queryAll runs Select (both queriers), LabelNames and LabelValues over
// everything and returns the series of the sample querier and every
// warning. It fails the test on an error: a bad block must only warn.
func queryAll(t testing.TB, s *Store, mint, maxt int64) ([]refSeries, []error) {
	t.Helper()
	ctx := context.Background()
	all := labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+")
	q, err := s.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var warns []error
	ss := q.Select(ctx, true, nil, all)
	var got []refSeries
	for ss.Next() {
		rs := refSeries{lset: ss.At().Labels()}
		it := ss.At().Iterator(nil)
		for vt := it.Next(); vt != 0; vt = it.Next() {
			rs.samples = append(rs.samples, atSample(it, vt))
		}
		got = append(got, rs)
	}
	if err := ss.Err(); err != nil {
		t.Fatalf("select failed instead of warning: %v", err)
	}
	warns = append(warns, ss.Warnings().AsErrors()...)
	cq, err := s.ChunkQuerier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer cq.Close()
	cs := cq.Select(ctx, true, &storage.SelectHints{Start: mint, End: maxt}, all)
	for cs.Next() {
		it := cs.At().Iterator(nil)
		for it.Next() {
		}
	}
	if err := cs.Err(); err != nil {
		t.Fatalf("chunk select failed instead of warning: %v", err)
	}
	_, w, err := q.LabelNames(ctx, nil, all)
	if err != nil {
		t.Fatalf("label names failed instead of warning: %v", err)
	}
	warns = append(warns, w.AsErrors()...)
	_, w, err = q.LabelValues(ctx, "instance", nil)
	if err != nil {
		t.Fatalf("label values failed instead of warning: %v", err)
	}
	warns = append(warns, w.AsErrors()...)
	return got, warns
}

// TestCorruptObjects damages one of two blocks' objects in every way a
// bucket can (missing, empty, truncated, bytes flipped in the footer, the
// page index, the pages) and checks that queries answer the good block's
// data in full, with a warning naming the bad block, and never fail.
func TestCorruptObjects(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	good := genModel(r, 20, 0, 2*3600_000, 15_000)
	bad := genModel(r, 20, 2*3600_000, 4*3600_000, 15_000)
	for _, file := range []string{SeriesFile, SamplesFile, HistogramsFile} {
		orig := func() (objstore.Bucket, BlockMeta, []byte) {
			bkt := fsBucket(t)
			upload(t, bkt, tenant, localBlock(t, good))
			meta := upload(t, bkt, tenant, localBlock(t, bad))
			if _, ok := readMeta(t, bkt, meta).File(file); !ok {
				t.Fatalf("block has no %s", file)
			}
			return bkt, meta, readObject(t, bkt, objectName(tenant, meta.ULID, file))
		}
		damages := map[string]func([]byte) []byte{
			"empty":     func(b []byte) []byte { return nil },
			"truncated": func(b []byte) []byte { return b[:len(b)/2] },
			"no footer": func(b []byte) []byte { return b[:len(b)-8] },
			"footer":    func(b []byte) []byte { return flip(b, len(b)-200, len(b)-9) },
			"index":     func(b []byte) []byte { return flip(b, len(b)*9/10, len(b)-200) },
			"pages":     func(b []byte) []byte { return flip(b, 4, len(b)/2) },
			"all":       func(b []byte) []byte { return flip(b, 0, len(b)) },
		}
		for name, damage := range damages {
			t.Run(file+"/"+name, func(t *testing.T) {
				bkt, meta, b := orig()
				replaceObject(t, bkt, meta, file, damage(bytes.Clone(b)))
				checkBadBlock(t, bkt, good, bad, meta)
			})
		}
		t.Run(file+"/missing", func(t *testing.T) {
			bkt, meta, _ := orig()
			if err := bkt.Delete(context.Background(), objectName(tenant, meta.ULID, file)); err != nil {
				t.Fatal(err)
			}
			checkBadBlock(t, bkt, good, bad, meta)
		})
	}
}

func readMeta(t testing.TB, bkt objstore.Bucket, meta BlockMeta) *BlockMeta {
	t.Helper()
	m, err := decodeMeta("meta.json", readObject(t, bkt, objectName(tenant, meta.ULID, MetaFile)))
	if err != nil {
		t.Fatal(err)
	}
	return &m
}

// flip overwrites a few bytes in b[from:to] with different ones.
func flip(b []byte, from, to int) []byte {
	from, to = max(0, from), min(len(b), to)
	if to <= from {
		return b
	}
	r := rand.New(rand.NewPCG(uint64(from), uint64(to)))
	for range 1 + (to-from)/500 {
		i := from + r.IntN(to-from)
		b[i] ^= byte(1 + r.IntN(255))
	}
	return b
}

func checkBadBlock(t *testing.T, bkt objstore.Bucket, good, badModel *model, bad BlockMeta) {
	t.Helper()
	s, err := Open(context.Background(), bkt, tenant, Options{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, warns := queryAll(t, s, 0, 4*3600_000)
	// Damage inside a histogram page may leave the floats readable, and
	// damage may hit bytes no query reads: then the bad block answers in
	// full, or a warning is there.
	var goodPart []refSeries
	for _, g := range got {
		if len(g.samples) > 0 && g.samples[0].t < 2*3600_000 {
			goodPart = append(goodPart, refSeries{lset: g.lset, samples: samplesBefore(g.samples, 2*3600_000)})
		}
	}
	compareSeries(t, "good block beside a bad one", goodPart, good.want(0, 2*3600_000-1))
	for _, w := range warns {
		if !strings.Contains(w.Error(), bad.ULID.String()) {
			t.Fatalf("warning does not name the block %s: %v", bad.ULID, w)
		}
	}
	if len(warns) == 0 {
		// No warning: the damage hit bytes no query reads (a bloom
		// filter, a column statistic), so the bad block's answer must be
		// complete and right.
		var badPart []refSeries
		for _, g := range got {
			if s := samplesFrom(g.samples, 2*3600_000); len(s) > 0 {
				badPart = append(badPart, refSeries{lset: g.lset, samples: s})
			}
		}
		compareSeries(t, "damaged block without a warning", badPart, badModel.want(2*3600_000, 4*3600_000))
		t.Logf("damage not seen by the queries (bytes they do not read)")
	}
}

func samplesFrom(s []sample, t int64) []sample {
	for i := range s {
		if s[i].t >= t {
			return s[i:]
		}
	}
	return nil
}

func samplesBefore(s []sample, t int64) []sample {
	for i := range s {
		if s[i].t >= t {
			return s[:i]
		}
	}
	return s
}

// failingBucket fails every read of objects whose name contains fail: a
// bucket outage for one block.
type failingBucket struct {
	objstore.Bucket
	fail string
}

var errOutage = errors.New("bucket unreachable")

func (b *failingBucket) GetRange(ctx context.Context, name string, off, length int64) (io.ReadCloser, error) {
	if strings.Contains(name, b.fail) {
		return nil, errOutage
	}
	return b.Bucket.GetRange(ctx, name, off, length)
}

// TestBucketOutage: reads of one block failing make queries answer the
// other block with a warning.
func TestBucketOutage(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	good := genModel(r, 10, 0, 2*3600_000, 30_000)
	bad := genModel(r, 10, 2*3600_000, 4*3600_000, 30_000)
	fb := fsBucket(t)
	upload(t, fb, tenant, localBlock(t, good))
	meta := upload(t, fb, tenant, localBlock(t, bad))
	s, err := Open(context.Background(), &failingBucket{fb, meta.ULID.String()}, tenant, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, warns := queryAll(t, s, 0, 4*3600_000)
	compareSeries(t, "good block during an outage of the other", got, good.want(0, 4*3600_000))
	if len(warns) == 0 || !strings.Contains(warns[0].Error(), errOutage.Error()) || !strings.Contains(warns[0].Error(), meta.ULID.String()) {
		t.Fatalf("warnings %v, want the outage of block %s", warns, meta.ULID)
	}
}
