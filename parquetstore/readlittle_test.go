package parquetstore

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"testing"

	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/thanos-io/objstore"
)

// countingBucket is a real bucket that counts the reads going through it
// (not a mock: every call reaches the wrapped bucket).
type countingBucket struct {
	objstore.Bucket
	getRange, get atomic.Int64
	bytes         atomic.Int64
	log           func(string, ...any)
}

func (b *countingBucket) GetRange(ctx context.Context, name string, off, length int64) (io.ReadCloser, error) {
	b.getRange.Add(1)
	if b.log != nil {
		b.log("GetRange %s [%d, +%d)", name, off, length)
	}
	rc, err := b.Bucket.GetRange(ctx, name, off, length)
	if err != nil {
		return nil, err
	}
	return &countingReader{rc, &b.bytes}, nil
}

func (b *countingBucket) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	b.get.Add(1)
	rc, err := b.Bucket.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return &countingReader{rc, &b.bytes}, nil
}

func (b *countingBucket) reset() { b.getRange.Store(0); b.get.Store(0); b.bytes.Store(0) }

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n.Add(int64(n))
	return n, err
}

// dayModel is a realistic 24h block: metrics × instances series scraped
// every 15s (counters with uneven increments, 2-decimal gauges, noisy
// gauges), with ±5ms scrape jitter.
func dayModel(metrics, instances int) *model {
	r := rand.New(rand.NewPCG(7, 8))
	const step, day = 15_000, 24 * 3600_000
	m := &model{mint: 0, maxt: day}
	for mi := range metrics {
		for ii := range instances {
			lset := labels.FromStrings(labels.MetricName, fmt.Sprintf("metric_%03d", mi), "instance", fmt.Sprintf("host-%02d:9100", ii), "job", "node")
			s := refSeries{lset: lset}
			var chk []sample
			v := float64(r.IntN(1000))
			for t := int64(0); t < day; t += step {
				ts := t + r.Int64N(11) - 5
				if ts < 0 {
					ts = 0
				}
				switch mi % 3 {
				case 0:
					v += float64(r.IntN(20))
				case 1:
					v = float64(r.IntN(10000)) / 100
				default:
					v = r.NormFloat64()
				}
				chk = append(chk, sample{t: ts, f: v})
				if len(chk) == 120 {
					s.chunks = append(s.chunks, chk)
					s.samples = append(s.samples, chk...)
					chk = nil
				}
			}
			if len(chk) > 0 {
				s.chunks = append(s.chunks, chk)
				s.samples = append(s.samples, chk...)
			}
			m.series = append(m.series, s)
		}
	}
	return m
}

// TestReadLittle is the target: a 1h range query over 10 series
// (one metric's instances) in a 24h block of many series issues at most
// 10 GetRange calls and reads at most 1 MB, from a cold cache.
func TestReadLittle(t *testing.T) {
	m := dayModel(40, 10)
	dir := t.TempDir()
	if d := os.Getenv("PQ_KEEP"); d != "" {
		dir = d
	}
	fb, err := filesystem.NewBucket(dir)
	if err != nil {
		t.Fatal(err)
	}
	bkt := &countingBucket{Bucket: fb}
	lb := localBlock(t, m)
	upload(t, bkt, tenant, lb)
	t.Logf("local block %d bytes", lb.Size())
	ctx := context.Background()

	bkt.reset()
	s, err := Open(ctx, bkt, tenant, Options{CacheBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	openGets, openBytes := bkt.get.Load(), bkt.bytes.Load()
	bkt.reset()
	bkt.log = t.Logf

	mint, maxt := int64(10*3600_000), int64(11*3600_000)
	ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "metric_021")}
	q, err := s.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	got := gotSeries(t, q.Select(ctx, true, nil, ms...))
	q.Close()
	compareSeries(t, "1h of 10 series", got, m.want(mint, maxt, ms...))
	if len(got) != 10 {
		t.Fatalf("%d series, want 10", len(got))
	}
	calls, bytes := bkt.getRange.Load(), bkt.bytes.Load()
	t.Logf("open: %d Get, %d bytes; query: %d GetRange, %d bytes, %d Get", openGets, openBytes, calls, bytes, bkt.get.Load())
	if calls > 10 || bytes > 1<<20 || bkt.get.Load() != 0 {
		t.Fatalf("query issued %d GetRange calls (≤ 10) reading %d bytes (≤ 1 MiB) and %d Get (0)", calls, bytes, bkt.get.Load())
	}

	// The same query again is served from the cache.
	bkt.reset()
	q, _ = s.Querier(mint, maxt)
	compareSeries(t, "cached", gotSeries(t, q.Select(ctx, true, nil, ms...)), m.want(mint, maxt, ms...))
	q.Close()
	if n := bkt.getRange.Load(); n != 0 {
		t.Fatalf("cached query issued %d GetRange calls", n)
	}
}
