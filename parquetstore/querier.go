package parquetstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// selectBatch is how many series a series set decodes at once: their pages
// are fetched together, adjacent ones in one GetRange.
const selectBatch = 256

// blockQuerier queries one block over [mint, maxt] (closed, as queriers'
// ranges are).
type blockQuerier struct {
	b          *block
	mint, maxt int64
	s          *Store
}

func (q *blockQuerier) warn(err error) annotations.Annotations {
	q.b.m.readErrors.Inc()
	err = fmt.Errorf("parquetstore: block %s/%s skipped: %w", q.b.tenant, q.b.meta.ULID, err)
	q.s.logger.Warn("Parquet block unreadable, skipped", "tenant", q.b.tenant, "block", q.b.meta.ULID, "err", err)
	var a annotations.Annotations
	a.Add(err)
	return a
}

func (q *blockQuerier) Close() error { return nil }

// matching calls fn with the ids of the series the matchers select, in
// label order, until fn returns false. A matcher that names values (= with
// a value, or a regexp that is a set of alternatives) picks the candidate
// series from the table's postings; the others are checked on each
// candidate's labels.
func matching(t *seriesTable, ms []*labels.Matcher, fn func(id int) bool) {
	var cands []int32
	found := false
	for _, m := range ms {
		var values []string
		switch {
		case m.Type == labels.MatchEqual && m.Value != "":
			values = []string{m.Value}
		case m.Type == labels.MatchRegexp:
			values = m.SetMatches()
			if slices.Contains(values, "") {
				values = nil // matches series without the label: no postings
			}
		}
		if values == nil {
			continue
		}
		ids := t.postingsFor(m.Name, values)
		if !found || len(ids) < len(cands) {
			cands, found = ids, true
		}
	}
	check := func(id int) bool {
		lset := t.series[id].lset
		for _, m := range ms {
			if !m.Matches(lset.Get(m.Name)) {
				return false
			}
		}
		return true
	}
	if found {
		for _, id := range cands {
			if check(int(id)) && !fn(int(id)) {
				return
			}
		}
		return
	}
	for i := range t.series {
		if check(i) && !fn(i) {
			return
		}
	}
}

func (q *blockQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	t, err := q.b.seriesTable(ctx)
	if err != nil {
		return []string{}, q.warn(err), nil
	}
	values := []string{}
	if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return m.Name != name }) {
		// As Prometheus's: matchers on the label itself only filter its
		// values (a limit keeps the smallest).
		seen := map[string]struct{}{}
		for i := range t.series {
			v := t.series[i].lset.Get(name)
			if v == "" {
				continue
			}
			if _, ok := seen[v]; ok {
				continue
			}
			seen[v] = struct{}{}
			ok := true
			for _, m := range ms {
				if !m.Matches(v) {
					ok = false
					break
				}
			}
			if ok {
				values = append(values, v)
			}
		}
		slices.Sort(values)
		values, _ = hints.ApplyLimit(values)
		return values, nil, nil
	}
	// With matchers on other labels, values come in the order of the first
	// series holding them, and a limit stops there before the sort.
	seen := map[string]struct{}{}
	matching(t, ms, func(id int) bool {
		if v := t.series[id].lset.Get(name); v != "" {
			if _, ok := seen[v]; !ok {
				seen[v] = struct{}{}
				values = append(values, v)
			}
		}
		return !hints.AllowsEarlyStop() || len(values) < hints.Limit
	})
	values, _ = hints.ApplyLimit(values)
	slices.Sort(values)
	return values, nil, nil
}

func (q *blockQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	t, err := q.b.seriesTable(ctx)
	if err != nil {
		return []string{}, q.warn(err), nil
	}
	names := []string{}
	if len(ms) == 0 {
		names = append(names, t.names...)
	} else {
		seen := map[string]struct{}{}
		matching(t, ms, func(id int) bool {
			t.series[id].lset.Range(func(l labels.Label) {
				if _, ok := seen[l.Name]; !ok {
					seen[l.Name] = struct{}{}
					names = append(names, l.Name)
				}
			})
			return true
		})
		slices.Sort(names)
	}
	names, _ = hints.ApplyLimit(names)
	return names, nil, nil
}

// selectSeries runs a Select on the block and returns a set that decodes
// series batch by batch.
func (q *blockQuerier) selectSeries(ctx context.Context, hints *storage.SelectHints, ms []*labels.Matcher) (*memSeriesSet, annotations.Annotations) {
	mint, maxt := q.mint, q.maxt
	skipSamples := false
	if hints != nil {
		mint, maxt = hints.Start, hints.End
		skipSamples = hints.Func == "series"
	}
	t, err := q.b.seriesTable(ctx)
	if err != nil {
		return &memSeriesSet{}, q.warn(err)
	}
	var ids []int
	matching(t, ms, func(id int) bool {
		e := &t.series[id]
		if e.maxTime < mint || e.minTime > maxt {
			return true
		}
		if hints != nil && hints.ShardCount > 0 && labels.StableHash(e.lset)%hints.ShardCount != hints.ShardIndex {
			return true
		}
		ids = append(ids, id)
		return true
	})
	return &memSeriesSet{ctx: ctx, q: q, t: t, ids: ids, mint: mint, maxt: maxt, skipSamples: skipSamples}, nil
}

// memSeriesSet yields the selected series of one block in label order,
// decoding selectBatch of them at a time.
type memSeriesSet struct {
	ctx         context.Context
	q           *blockQuerier
	t           *seriesTable
	ids         []int // still to decode
	mint, maxt  int64
	skipSamples bool

	batch []*memSeries
	cur   *memSeries
	err   error
	warns annotations.Annotations
}

func (s *memSeriesSet) Next() bool {
	for {
		if len(s.batch) > 0 {
			s.cur = s.batch[0]
			s.batch = s.batch[1:]
			return true
		}
		if len(s.ids) == 0 || s.err != nil {
			s.cur = nil
			return false
		}
		if err := s.ctx.Err(); err != nil {
			s.err = err
			return false
		}
		n := min(selectBatch, len(s.ids))
		batch, err := s.q.decode(s.ctx, s.t, s.ids[:n], s.mint, s.maxt, s.skipSamples)
		s.ids = s.ids[n:]
		if err != nil {
			// A block that cannot be read is skipped with a warning, as
			// Prometheus does for a failing remote read.
			s.warns.Merge(s.q.warn(err))
			s.ids = nil
			s.batch = nil
			continue
		}
		s.batch = batch
	}
}

func (s *memSeriesSet) At() storage.Series                { return s.cur }
func (s *memSeriesSet) Err() error                        { return s.err }
func (s *memSeriesSet) Warnings() annotations.Annotations { return s.warns }

// decode reads the samples in [mint, maxt] of the series ids, fetching
// the pages of all of them first (adjacent pages in one request). Series
// left with no sample are dropped.
func (q *blockQuerier) decode(ctx context.Context, t *seriesTable, ids []int, mint, maxt int64, skipSamples bool) (out []*memSeries, err error) {
	defer guard(q.b.object(SamplesFile), &err)
	out = make([]*memSeries, 0, len(ids))
	if skipSamples {
		for _, id := range ids {
			out = append(out, &memSeries{lset: t.series[id].lset})
		}
		return out, nil
	}
	var floats *dataFile
	floatRows := make([]rowRange, len(ids))
	for i, id := range ids {
		e := &t.series[id]
		if e.samplesN == 0 {
			continue
		}
		if floats == nil {
			if floats, err = q.b.openData(SamplesFile); err != nil {
				return nil, err
			}
		}
		r := rowRange{e.samplesFirst, e.samplesFirst + e.samplesN}
		if r.end > floats.f.NumRows() {
			return nil, fmt.Errorf("%s: %w: series %d rows [%d, %d) past the file's %d", q.b.object(SamplesFile), ErrCorrupt, id, r.start, r.end, floats.f.NumRows())
		}
		floatRows[i] = r
	}
	var rr *rangeReader
	if floats != nil {
		fm, _ := q.b.meta.File(SamplesFile)
		rr = newRangeReader(ctx, q.b.bkt, q.b.object(SamplesFile), fm.Size, q.b.cache, q.b.m)
		tsCol, valCol := floats.cols["timestamp"], floats.cols["value"]
		if err := floats.loadPageIndex(rr, floatRows, tsCol, valCol); err != nil {
			return nil, fmt.Errorf("%s: %w", q.b.object(SamplesFile), err)
		}
		var ranges []byteRange
		for i, id := range ids {
			e, r := &t.series[id], floatRows[i]
			if r.empty() {
				continue
			}
			if e.minTime < mint || e.maxTime > maxt {
				r = floats.narrow(r, mint, maxt)
				floatRows[i] = r
			}
			if !r.empty() {
				ranges = floats.pageRanges(tsCol, r, ranges)
				ranges = floats.pageRanges(valCol, r, ranges)
			}
		}
		if err := rr.fetch(ranges); err != nil {
			return nil, err
		}
	}
	hists, histRows, err := q.b.prepareHistograms(ctx, t, ids, mint, maxt)
	if err != nil {
		return nil, err
	}
	if hists != nil {
		defer hists.close()
	}
	for i, id := range ids {
		e := &t.series[id]
		s := &memSeries{lset: e.lset}
		if r := floatRows[i]; !r.empty() {
			ts, first, err := floats.readTimes(rr, floats.cols["timestamp"], r, mint, maxt)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", q.b.object(SamplesFile), err)
			}
			if len(ts) > 0 {
				vs, err := floats.readDoubles(rr, floats.cols["value"], rowRange{first, first + int64(len(ts))}, make([]float64, 0, len(ts)))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", q.b.object(SamplesFile), err)
				}
				if len(vs) != len(ts) {
					return nil, fmt.Errorf("%s: %w: %d values for %d timestamps", q.b.object(SamplesFile), ErrCorrupt, len(vs), len(ts))
				}
				s.ts, s.vs = ts, vs
			}
		}
		if r := histRows[i]; !r.empty() {
			if s.hists, err = hists.read(r, mint, maxt); err != nil {
				return nil, err
			}
		}
		if len(s.ts) > 0 || len(s.hists) > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

// histReader reads histograms.parquet rows with parquet-go's row reader
// (histograms are rare next to floats: its reflection is the price of
// simplicity). Rows are narrowed and their pages fetched first, as for
// floats, so the reader finds them in the cache.
type histReader struct {
	name string
	r    *parquet.GenericReader[histogramRow]
}

// prepareHistograms narrows the histogram rows of the series ids to
// [mint, maxt] by the page index and fetches their pages; it returns nil
// when none of the series has histograms.
func (b *block) prepareHistograms(ctx context.Context, t *seriesTable, ids []int, mint, maxt int64) (h *histReader, rows []rowRange, err error) {
	name := b.object(HistogramsFile)
	defer guard(name, &err)
	rows = make([]rowRange, len(ids))
	any := false
	for i, id := range ids {
		e := &t.series[id]
		if e.histN > 0 {
			rows[i] = rowRange{e.histFirst, e.histFirst + e.histN}
			any = true
		}
	}
	if !any {
		return nil, rows, nil
	}
	if _, ok := b.meta.File(HistogramsFile); !ok {
		return nil, nil, fmt.Errorf("%s: %w: series have histograms, meta.json lists no histogram file", name, ErrCorrupt)
	}
	d, err := b.openData(HistogramsFile)
	if err != nil {
		return nil, nil, err
	}
	fm, _ := b.meta.File(HistogramsFile)
	rr := newRangeReader(ctx, b.bkt, name, fm.Size, b.cache, b.m)
	cols := make([]int, len(d.f.Schema().Columns()))
	for i := range cols {
		cols[i] = i
	}
	for i, r := range rows {
		if r.end > d.f.NumRows() {
			return nil, nil, fmt.Errorf("%s: %w: series %d rows [%d, %d) past the file's %d", name, ErrCorrupt, ids[i], r.start, r.end, d.f.NumRows())
		}
	}
	// The row reader seeks every column: each needs its offset index.
	if err := d.loadPageIndex(rr, rows, cols...); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	var ranges []byteRange
	for i, id := range ids {
		e := &t.series[id]
		if rows[i].empty() {
			continue
		}
		if e.minTime < mint || e.maxTime > maxt {
			rows[i] = d.narrow(rows[i], mint, maxt)
		}
		for _, c := range cols {
			ranges = d.pageRanges(c, rows[i], ranges)
		}
	}
	if err := rr.fetch(ranges); err != nil {
		return nil, nil, err
	}
	return &histReader{name: name, r: parquet.NewGenericReader[histogramRow](d.f)}, rows, nil
}

func (h *histReader) close() { h.r.Close() }

func (h *histReader) read(rows rowRange, mint, maxt int64) (out []histSample, err error) {
	defer guard(h.name, &err)
	if err := h.r.SeekToRow(rows.start); err != nil {
		return nil, fmt.Errorf("%s: %w: seek to row %d: %w", h.name, ErrCorrupt, rows.start, err)
	}
	for left := rows.end - rows.start; left > 0; {
		// A fresh buffer each time: the decoded rows' slices become the
		// histograms' buckets, and the reader reuses what it is given.
		buf := make([]histogramRow, min(128, left))
		n, err := h.r.Read(buf)
		for _, r := range buf[:n] {
			if r.Timestamp < mint || r.Timestamp > maxt {
				continue
			}
			hs, err := histogramFromRow(&r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w: %w", h.name, ErrCorrupt, err)
			}
			out = append(out, hs)
		}
		left -= int64(n)
		if err != nil && left > 0 {
			return nil, fmt.Errorf("%s: %w: at row %d: %w", h.name, ErrCorrupt, rows.end-left, err)
		}
		if n == 0 && left > 0 {
			return nil, fmt.Errorf("%s: %w: rows end at %d", h.name, ErrCorrupt, rows.end-left)
		}
	}
	return out, nil
}

// nilIfEmpty gives the nil slice Prometheus's histograms use for "none"
// (Validate tells an empty CustomValues from a missing one).
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func histogramFromRow(r *histogramRow) (histSample, error) {
	r.CustomValues = nilIfEmpty(r.CustomValues)
	r.PositiveBuckets = nilIfEmpty(r.PositiveBuckets)
	r.NegativeBuckets = nilIfEmpty(r.NegativeBuckets)
	pos, err := spansFromColumns(r.PositiveSpanOffsets, r.PositiveSpanLengths)
	if err != nil {
		return histSample{}, err
	}
	neg, err := spansFromColumns(r.NegativeSpanOffsets, r.NegativeSpanLengths)
	if err != nil {
		return histSample{}, err
	}
	hint := histogram.CounterResetHint(r.CounterResetHint)
	if !r.Integer {
		fh := &histogram.FloatHistogram{
			CounterResetHint: hint, Schema: r.Schema, ZeroThreshold: r.ZeroThreshold,
			ZeroCount: r.ZeroCount, Count: r.Count, Sum: r.Sum,
			PositiveSpans: pos, NegativeSpans: neg,
			PositiveBuckets: r.PositiveBuckets, NegativeBuckets: r.NegativeBuckets,
			CustomValues: r.CustomValues,
		}
		// Spans that disagree with the buckets would crash the chunk
		// encoders and PromQL: a damaged object is caught here.
		if err := fh.Validate(); err != nil {
			return histSample{}, err
		}
		return histSample{t: r.Timestamp, fh: fh, start: r.ChunkStart}, nil
	}
	h := &histogram.Histogram{
		CounterResetHint: hint, Schema: r.Schema, ZeroThreshold: r.ZeroThreshold,
		ZeroCount: uint64(r.ZeroCount), Count: uint64(r.Count), Sum: r.Sum,
		PositiveSpans: pos, NegativeSpans: neg,
		PositiveBuckets: deltaBuckets(r.PositiveBuckets), NegativeBuckets: deltaBuckets(r.NegativeBuckets),
		CustomValues: r.CustomValues,
	}
	if err := h.Validate(); err != nil {
		return histSample{}, err
	}
	return histSample{t: r.Timestamp, h: h, start: r.ChunkStart}, nil
}

func spansFromColumns(offs, lens []int32) ([]histogram.Span, error) {
	if len(offs) != len(lens) {
		return nil, fmt.Errorf("%d span offsets, %d lengths", len(offs), len(lens))
	}
	if len(offs) == 0 {
		return nil, nil
	}
	out := make([]histogram.Span, len(offs))
	for i := range offs {
		if lens[i] < 0 {
			return nil, fmt.Errorf("negative span length %d", lens[i])
		}
		out[i] = histogram.Span{Offset: offs[i], Length: uint32(lens[i])}
	}
	return out, nil
}

func deltaBuckets(abs []float64) []int64 {
	if len(abs) == 0 {
		return nil
	}
	out := make([]int64, len(abs))
	var prev int64
	for i, a := range abs {
		c := int64(a)
		out[i] = c - prev
		prev = c
	}
	return out
}

// sampleQuerier is a storage.Querier over one block.
type sampleQuerier struct{ *blockQuerier }

func (q sampleQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	set, warns := q.selectSeries(ctx, hints, ms)
	set.warns.Merge(warns)
	return set
}

// chunkQuerier is a storage.ChunkQuerier over one block: the samples
// re-encoded as upstream chunks.
type chunkQuerier struct{ *blockQuerier }

func (q chunkQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.ChunkSeriesSet {
	set, warns := q.selectSeries(ctx, hints, ms)
	set.warns.Merge(warns)
	return &chunkSet{set}
}

type chunkSet struct{ *memSeriesSet }

func (s *chunkSet) At() storage.ChunkSeries {
	for _, h := range s.cur.hists {
		if h.start != 0 {
			return sourceChunks{s.cur}
		}
	}
	return storage.NewSeriesToChunkEncoder(s.cur)
}
