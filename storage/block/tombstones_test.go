package block

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
)

func TestIntervalsAdd(t *testing.T) {
	for _, tc := range []struct {
		in   Intervals
		add  Interval
		want Intervals
	}{
		{nil, Interval{1, 2}, Intervals{{1, 2}}},
		{Intervals{{1, 2}}, Interval{3, 4}, Intervals{{1, 4}}}, // adjacent merge
		{Intervals{{1, 2}}, Interval{4, 5}, Intervals{{1, 2}, {4, 5}}},
		{Intervals{{1, 2}, {10, 12}}, Interval{2, 10}, Intervals{{1, 12}}},
		{Intervals{{5, 6}}, Interval{1, 2}, Intervals{{1, 2}, {5, 6}}},
		{Intervals{{math.MinInt64, 0}}, Interval{1, math.MaxInt64}, Intervals{{math.MinInt64, math.MaxInt64}}},
		{Intervals{{0, math.MaxInt64}}, Interval{math.MinInt64, -2}, Intervals{{math.MinInt64, -2}, {0, math.MaxInt64}}},
	} {
		if got := tc.in.Add(tc.add); !slices.Equal(got, tc.want) {
			t.Errorf("%v.Add(%v) = %v, want %v", tc.in, tc.add, got, tc.want)
		}
	}
}

func TestTombstones(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := genModel(r, 60, testSpan)
	dir := t.TempDir()
	b, meta := writeModel(t, dir, m, 0, testSpan)
	ctx := context.Background()

	before, err := b.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	orig := &model{series: m.series, del: map[string]Intervals{}}

	for i := range 12 {
		ms := genMatchers(r)
		if i == 0 {
			ms = []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "up")}
		}
		mint := r.Int64N(testSpan)
		maxt := mint + r.Int64N(4000)
		if i == 1 {
			mint, maxt = math.MinInt64, math.MaxInt64 // whole series
		}
		if err := b.Delete(ctx, mint, maxt, ms...); err != nil {
			t.Fatal(err)
		}
		for _, s := range m.series {
			if matchesAll(s.lset, ms) {
				m.del[s.lset.String()] = m.del[s.lset.String()].Add(Interval{mint, maxt})
			}
		}
	}
	if b.NumTombstones() == 0 || b.Meta().Stats.NumTombstones != b.NumTombstones() {
		t.Fatalf("NumTombstones %d, meta %d", b.NumTombstones(), b.Meta().Stats.NumTombstones)
	}
	checkQueries(t, r, b, m, 60)

	// A querier opened before the deletes still sees everything.
	checkSelect(t, before, orig.query(math.MinInt64, math.MaxInt64, []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "job", ".*")}), nil,
		[]*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "job", ".*")})
	before.Close()

	// Reopen: the tombstones and the count in meta.json survive.
	n := b.NumTombstones()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	onDisk, err := readMeta(b.Dir())
	if err != nil || onDisk.Stats.NumTombstones != n {
		t.Fatalf("meta.json NumTombstones %d (%v), want %d", onDisk.Stats.NumTombstones, err, n)
	}
	b, err = Open(b.Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.NumTombstones() != n {
		t.Fatalf("reopened: %d tombstones, want %d", b.NumTombstones(), n)
	}
	checkQueries(t, r, b, m, 60)

	// Compacting the block alone drops the deleted samples for good.
	cmeta, err := Compact(ctx, dir, []*Block{b}, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cmeta.Stats.NumTombstones != 0 || cmeta.Compaction.Level != 2 ||
		!slices.Equal(cmeta.Compaction.Sources, []ulid.ULID{meta.ULID}) ||
		len(cmeta.Compaction.Parents) != 1 || cmeta.Compaction.Parents[0].ULID != meta.ULID ||
		cmeta.MinTime != 0 || cmeta.MaxTime != testSpan {
		t.Fatalf("compacted meta %+v", cmeta)
	}
	c, err := Open(filepath.Join(dir, cmeta.ULID.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.NumTombstones() != 0 {
		t.Fatalf("compacted block has %d tombstones", c.NumTombstones())
	}
	// The compacted block holds exactly the surviving samples, with no
	// tombstones needed to hide the rest.
	surviving := &model{del: map[string]Intervals{}}
	var wantSamples uint64
	for _, s := range m.query(math.MinInt64, math.MaxInt64, nil) {
		surviving.series = append(surviving.series, s)
		wantSamples += uint64(len(s.samples))
	}
	if cmeta.Stats.NumSamples != wantSamples || cmeta.Stats.NumSeries != uint64(len(surviving.series)) {
		t.Fatalf("compacted stats %+v, want %d samples in %d series", cmeta.Stats, wantSamples, len(surviving.series))
	}
	checkQueries(t, r, c, surviving, 60)
}
