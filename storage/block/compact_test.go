package block

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
)

// splitModel deals the samples of m's float series to k models at random,
// with some samples given to several (duplicates), each model cut into its
// own chunks: k overlapping blocks' worth of the same series.
func splitModel(r *rand.Rand, m *model, k int) []*model {
	out := make([]*model, k)
	for i := range out {
		out[i] = &model{del: map[string]Intervals{}}
	}
	for _, s := range m.series {
		series := make([]*refSeries, k)
		for _, c := range s.chunks {
			// Deal each input chunk on its own: a chunk of the parts then
			// never spans a counter reset or two value types.
			parts := make([][]sample, k)
			for _, smp := range c {
				owners := 1
				if r.IntN(5) == 0 {
					owners = 2 + r.IntN(k-1)
				}
				for _, i := range r.Perm(k)[:owners] {
					parts[i] = append(parts[i], smp)
				}
			}
			for i, p := range parts {
				if len(p) == 0 {
					continue
				}
				if series[i] == nil {
					series[i] = &refSeries{lset: s.lset}
				}
				series[i].samples = append(series[i].samples, p...)
				for len(p) > 0 {
					n := min(len(p), 1+r.IntN(60))
					series[i].chunks = append(series[i].chunks, p[:n])
					p = p[n:]
				}
			}
		}
		for i, ns := range series {
			if ns != nil {
				out[i].series = append(out[i].series, ns)
			}
		}
	}
	return out
}

func TestCompactOverlapping(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m := genModel(r, 50, testSpan)
	parts := splitModel(r, m, 3)
	dir := t.TempDir()
	ranges := [][2]int64{{0, testSpan}, {0, testSpan / 2}, {testSpan / 4, testSpan}}
	var blocks []*Block
	var metas []Meta
	for i, p := range parts {
		// Each block keeps only its range's samples.
		mint, maxt := ranges[i][0], ranges[i][1]
		b, meta := writeModel(t, dir, p, mint, maxt)
		blocks = append(blocks, b)
		metas = append(metas, meta)
	}
	// What the blocks hold together: every sample some block kept, once.
	want := &model{del: map[string]Intervals{}}
	for _, s := range m.series {
		var smps []sample
		for i, p := range parts {
			for _, ps := range p.series {
				if !labels.Equal(ps.lset, s.lset) {
					continue
				}
				for _, smp := range ps.samples {
					if smp.t >= ranges[i][0] && smp.t < ranges[i][1] {
						smps = append(smps, smp)
					}
				}
			}
		}
		slices.SortStableFunc(smps, func(a, b sample) int { return int(a.t - b.t) })
		smps = slices.CompactFunc(smps, func(a, b sample) bool { return a.t == b.t })
		if len(smps) > 0 {
			want.series = append(want.series, &refSeries{lset: s.lset, samples: smps})
		}
	}

	ctx := context.Background()
	meta, err := Compact(ctx, dir, blocks, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wantSources []ulid.ULID
	for _, m := range metas {
		wantSources = append(wantSources, m.ULID)
	}
	slices.SortFunc(wantSources, func(a, b ulid.ULID) int { return a.Compare(b) })
	if meta.Compaction.Level != 2 || !slices.Equal(meta.Compaction.Sources, wantSources) || len(meta.Compaction.Parents) != 3 ||
		meta.MinTime != 0 || meta.MaxTime != testSpan {
		t.Fatalf("meta %+v", meta)
	}
	for i, p := range meta.Compaction.Parents {
		if p.ULID != metas[i].ULID || p.MinTime != metas[i].MinTime || p.MaxTime != metas[i].MaxTime {
			t.Fatalf("parent %d = %+v, want %v", i, p, metas[i])
		}
	}
	c, err := Open(filepath.Join(dir, meta.ULID.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkQueries(t, r, c, want, 60)

	// A second round: level 3, sources stay the union of the originals.
	meta2, err := Compact(ctx, dir, []*Block{c, blocks[0]}, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if meta2.Compaction.Level != 3 || !slices.Equal(meta2.Compaction.Sources, wantSources) {
		t.Fatalf("second compaction meta %+v", meta2.Compaction)
	}

	// An explicit range trims the output.
	meta3, err := Compact(ctx, dir, blocks, WriteOptions{MinTime: 5000, MaxTime: 6000})
	if err != nil {
		t.Fatal(err)
	}
	c3, err := Open(filepath.Join(dir, meta3.ULID.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	q, _ := c3.Querier(math.MinInt64, math.MaxInt64)
	all := []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+")}
	checkSelect(t, q, want.query(5000, 5999, all), nil, all)
	q.Close()
}

func TestCompactEmpty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	m := genModel(r, 5, 1000)
	dir := t.TempDir()
	b, _ := writeModel(t, dir, m, 0, 1000)
	if err := b.Delete(context.Background(), math.MinInt64, math.MaxInt64, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".*")); err != nil {
		t.Fatal(err)
	}
	if _, err := Compact(context.Background(), dir, []*Block{b}, WriteOptions{}); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Compact of a wholly deleted block: %v, want ErrEmpty", err)
	}
	entries, _ := filepathGlob(dir)
	if len(entries) != 1 {
		t.Fatalf("dir holds %v, want only the block", entries)
	}
}

func filepathGlob(dir string) ([]string, error) { return filepath.Glob(filepath.Join(dir, "*")) }
