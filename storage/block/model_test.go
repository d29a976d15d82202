package block

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
	"github.com/prometheus/prometheus/util/annotations"
)

// sample implements chunks.Sample for the tests' input and reference.
type sample struct {
	st, t int64
	f     float64
	h     *histogram.Histogram
	fh    *histogram.FloatHistogram
}

func (s sample) T() int64                      { return s.t }
func (s sample) ST() int64                     { return s.st }
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

// refSeries is a series of the reference model: its samples and how the
// input cut them into chunks.
type refSeries struct {
	lset    labels.Labels
	samples []sample
	chunks  [][]sample // the input's chunks (samples is their concatenation)
}

// model is the in-memory reference a block is compared with.
type model struct {
	series []*refSeries // sorted by labels
	del    map[string]Intervals
}

// floatPool holds the values whose bits must survive: NaN payloads, stale
// markers, infinities, negative zero.
var floatPool = []float64{
	math.Float64frombits(value.StaleNaN),
	math.NaN(),
	math.Float64frombits(0x7ff8000000000bad),
	math.Float64frombits(0xfff0000000000001),
	math.Inf(1), math.Inf(-1),
	math.Copysign(0, -1), 0, 1, -1, 0.1, 1e300, -5e-324,
}

func genFloat(r *rand.Rand) float64 {
	if r.IntN(4) == 0 {
		return floatPool[r.IntN(len(floatPool))]
	}
	return float64(r.IntN(1000)) + r.Float64()
}

// genModel makes n random series over timestamps in [0, span).
func genModel(r *rand.Rand, n int, span int64) *model {
	m := &model{del: map[string]Intervals{}}
	seen := map[string]bool{}
	names := []string{"up", "http_requests_total", "go_gc", "a"}
	jobs := []string{"api", "db", "web", "x|y", ""}
	for len(m.series) < n {
		b := labels.NewScratchBuilder(4)
		b.Add(labels.MetricName, names[r.IntN(len(names))])
		if j := jobs[r.IntN(len(jobs))]; j != "" {
			b.Add("job", j)
		}
		if r.IntN(3) > 0 {
			b.Add("instance", fmt.Sprintf("host-%d", r.IntN(8)))
		}
		if r.IntN(4) == 0 {
			b.Add("zone", []string{"eu", "us", "ünïcode", "a b"}[r.IntN(4)])
		}
		b.Sort()
		lset := b.Labels()
		if seen[lset.String()] {
			continue
		}
		seen[lset.String()] = true
		m.series = append(m.series, genSeries(r, lset, span))
	}
	slices.SortFunc(m.series, func(a, b *refSeries) int { return labels.Compare(a.lset, b.lset) })
	return m
}

func genSeries(r *rand.Rand, lset labels.Labels, span int64) *refSeries {
	s := &refSeries{lset: lset}
	t := int64(r.IntN(int(span / 4)))
	withST := r.IntN(6) == 0
	nChunks := 1 + r.IntN(5)
	for c := 0; c < nChunks && t < span; c++ {
		kind := r.IntN(5) // 0-2 float, 3 histogram, 4 float histogram
		gauge := r.IntN(3) == 0
		size := 1 + r.IntN(150)
		var chk []sample
		for i := 0; i < size && t < span; i++ {
			smp := sample{t: t}
			if withST {
				smp.st = t - 500
			}
			switch kind {
			case 3:
				if gauge {
					smp.h = tsdbutil.GenerateTestGaugeHistogram(int64(r.IntN(50)))
				} else {
					smp.h = tsdbutil.GenerateTestHistogram(int64(i))
				}
			case 4:
				if gauge {
					smp.fh = tsdbutil.GenerateTestGaugeFloatHistogram(int64(r.IntN(50)))
				} else {
					smp.fh = tsdbutil.GenerateTestFloatHistogram(int64(i))
				}
			default:
				smp.f = genFloat(r)
			}
			chk = append(chk, smp)
			t += 1 + int64(r.IntN(40))
		}
		s.chunks = append(s.chunks, chk)
		s.samples = append(s.samples, chk...)
		t += int64(r.IntN(200))
	}
	return s
}

// set returns the model's input as a ChunkSeriesSet, one upstream list
// chunk per input chunk.
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

func (m *model) deleted(lset labels.Labels, t int64) bool {
	if len(m.del) == 0 {
		return false
	}
	for _, iv := range m.del[lset.String()] {
		if iv.Mint <= t && t <= iv.Maxt {
			return true
		}
	}
	return false
}

func matchesAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// query returns what Select must return: series with samples in
// [mint, maxt] after deletions, with those samples.
func (m *model) query(mint, maxt int64, ms []*labels.Matcher) []*refSeries {
	var out []*refSeries
	for _, s := range m.series {
		if !matchesAll(s.lset, ms) {
			continue
		}
		var smps []sample
		for _, smp := range s.samples {
			if smp.t >= mint && smp.t <= maxt && !m.deleted(s.lset, smp.t) {
				smps = append(smps, smp)
			}
		}
		if len(smps) > 0 {
			out = append(out, &refSeries{lset: s.lset, samples: smps})
		}
	}
	return out
}

// trimmed returns the model restricted to [mint, maxt]: what a block
// written with that range holds.
func (m *model) trimmed(mint, maxt int64) *model {
	out := &model{del: map[string]Intervals{}}
	for _, s := range m.series {
		ns := &refSeries{lset: s.lset}
		for _, c := range s.chunks {
			var nc []sample
			for _, smp := range c {
				if smp.t >= mint && smp.t <= maxt {
					nc = append(nc, smp)
				}
			}
			if len(nc) > 0 {
				ns.chunks = append(ns.chunks, nc)
				ns.samples = append(ns.samples, nc...)
			}
		}
		if len(ns.samples) > 0 {
			out.series = append(out.series, ns)
		}
	}
	return out
}

func (m *model) labelValues(name string, ms []*labels.Matcher) []string {
	set := map[string]bool{}
	for _, s := range m.series {
		if matchesAll(s.lset, ms) {
			if v := s.lset.Get(name); v != "" {
				set[v] = true
			}
		}
	}
	out := []string{}
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// labelValuesLimit is labelValues with a limit, by Prometheus's rule
// (tsdb's labelValuesWithMatchers): with matchers on other labels only, the
// values of the first series in index order (sorted by labels) that hold
// them, then sorted; otherwise the smallest values.
func (m *model) labelValuesLimit(name string, ms []*labels.Matcher, limit int) []string {
	if !slices.ContainsFunc(ms, func(x *labels.Matcher) bool { return x.Name != name }) {
		all := m.labelValues(name, ms)
		return all[:min(limit, len(all))]
	}
	var out []string
	for _, s := range m.series { // Sorted by labels, as the index.
		if v := s.lset.Get(name); v != "" && matchesAll(s.lset, ms) && !slices.Contains(out, v) {
			out = append(out, v)
			if len(out) == limit {
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

func (m *model) labelNames(ms []*labels.Matcher) []string {
	set := map[string]bool{}
	for _, s := range m.series {
		if matchesAll(s.lset, ms) {
			s.lset.Range(func(l labels.Label) { set[l.Name] = true })
		}
	}
	out := []string{}
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// genMatchers returns 1-3 random matchers of every kind.
func genMatchers(r *rand.Rand) []*labels.Matcher {
	names := []string{labels.MetricName, "job", "instance", "zone", "missing"}
	values := []string{"up", "a", "api", "db", "x|y", "host-1", "host-3", "eu", "ünïcode", "a b", "", "nope"}
	regexps := []string{".*", ".+", "a.*", "host-[0-3]", "api|db", "", "x\\|y", "(?i)UP", "h.*|", ".*-1", "nope|up"}
	n := 1 + r.IntN(3)
	ms := make([]*labels.Matcher, 0, n)
	for range n {
		name := names[r.IntN(len(names))]
		typ := labels.MatchType(r.IntN(4))
		v := values[r.IntN(len(values))]
		if typ == labels.MatchRegexp || typ == labels.MatchNotRegexp {
			v = regexps[r.IntN(len(regexps))]
		}
		ms = append(ms, labels.MustNewMatcher(typ, name, v))
	}
	return ms
}

// normHint makes histogram counter-reset hints comparable: a re-encoded or
// a chunk's non-first sample reports a different, equally valid, hint.
func normHint(h histogram.CounterResetHint) histogram.CounterResetHint {
	if h == histogram.GaugeType {
		return h
	}
	return histogram.UnknownCounterReset
}

// readSamples drains a sample iterator.
func readSamples(t testing.TB, it chunkenc.Iterator) []sample {
	t.Helper()
	var out []sample
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		out = append(out, atSample(it, vt))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func atSample(it chunkenc.Iterator, vt chunkenc.ValueType) sample {
	var s sample
	s.st = it.AtST()
	switch vt {
	case chunkenc.ValFloat:
		s.t, s.f = it.At()
	case chunkenc.ValHistogram:
		s.t, s.h = it.AtHistogram(nil)
	case chunkenc.ValFloatHistogram:
		s.t, s.fh = it.AtFloatHistogram(nil)
	}
	return s
}

// sameSample compares bit for bit (floats by math.Float64bits).
func sameSample(a, b sample) error {
	if a.t != b.t || a.st != b.st || a.Type() != b.Type() {
		return fmt.Errorf("got t=%d st=%d %v, want t=%d st=%d %v", a.t, a.st, a.Type(), b.t, b.st, b.Type())
	}
	switch a.Type() {
	case chunkenc.ValFloat:
		if math.Float64bits(a.f) != math.Float64bits(b.f) {
			return fmt.Errorf("t=%d: got %x, want %x", a.t, math.Float64bits(a.f), math.Float64bits(b.f))
		}
	case chunkenc.ValHistogram:
		x, y := a.h.Copy(), b.h.Copy()
		x.CounterResetHint, y.CounterResetHint = normHint(x.CounterResetHint), normHint(y.CounterResetHint)
		if !x.Equals(y) {
			return fmt.Errorf("t=%d: got %v, want %v", a.t, a.h, b.h)
		}
	case chunkenc.ValFloatHistogram:
		x, y := a.fh.Copy(), b.fh.Copy()
		x.CounterResetHint, y.CounterResetHint = normHint(x.CounterResetHint), normHint(y.CounterResetHint)
		if !x.Equals(y) {
			return fmt.Errorf("t=%d: got %v, want %v", a.t, a.fh, b.fh)
		}
	}
	return nil
}

func sameSamples(got, want []sample) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d samples, want %d", len(got), len(want))
	}
	for i := range got {
		if err := sameSample(got[i], want[i]); err != nil {
			return fmt.Errorf("sample %d: %w", i, err)
		}
	}
	return nil
}

// checkSelect compares q.Select with the model's answer.
func checkSelect(t *testing.T, q storage.Querier, want []*refSeries, hints *storage.SelectHints, ms []*labels.Matcher) {
	t.Helper()
	ss := q.Select(context.Background(), true, hints, ms...)
	i := 0
	for ss.Next() {
		s := ss.At()
		if i >= len(want) {
			t.Fatalf("%v: extra series %s", ms, s.Labels())
		}
		if !labels.Equal(s.Labels(), want[i].lset) {
			t.Fatalf("%v: series %d is %s, want %s", ms, i, s.Labels(), want[i].lset)
		}
		if err := sameSamples(readSamples(t, s.Iterator(nil)), want[i].samples); err != nil {
			t.Fatalf("%v %s: %v", ms, s.Labels(), err)
		}
		i++
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(want) {
		t.Fatalf("%v: got %d series, want %d", ms, i, len(want))
	}
}

// checkChunkSelect compares a ChunkQuerier's chunks, decoded, with the
// model, and checks each chunk's MinTime/MaxTime.
func checkChunkSelect(t *testing.T, q storage.ChunkQuerier, want []*refSeries, hints *storage.SelectHints, ms []*labels.Matcher) {
	t.Helper()
	ss := q.Select(context.Background(), true, hints, ms...)
	i := 0
	for ss.Next() {
		s := ss.At()
		if i >= len(want) || !labels.Equal(s.Labels(), want[i].lset) {
			t.Fatalf("%v: unexpected series %s at %d", ms, s.Labels(), i)
		}
		var got []sample
		it := s.Iterator(nil)
		for it.Next() {
			m := it.At()
			smps := readSamples(t, m.Chunk.Iterator(nil))
			if len(smps) == 0 || smps[0].t != m.MinTime || smps[len(smps)-1].t != m.MaxTime {
				t.Fatalf("%s: chunk [%d, %d] holds %d samples from %v", s.Labels(), m.MinTime, m.MaxTime, len(smps), smps)
			}
			got = append(got, smps...)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if err := sameSamples(got, want[i].samples); err != nil {
			t.Fatalf("%v %s: %v", ms, s.Labels(), err)
		}
		i++
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(want) {
		t.Fatalf("%v: got %d series, want %d", ms, i, len(want))
	}
}

func allMatcher() *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".*")
}
