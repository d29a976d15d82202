package parquetstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sort"

	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/thanos-io/objstore"
)

// ErrCorrupt is wrapped by every error about an object that is not what
// SCHEMA.md says (as opposed to a bucket that cannot be reached).
var ErrCorrupt = errors.New("corrupt Parquet block object")

// ErrNotListed is returned for a block the store does not list (never
// written, incomplete, deleted or replaced).
var ErrNotListed = errors.New("block not listed in the bucket")

const readBufferSize = 4096

// pageIndexAllowance is what the cache counts for the page indexes a
// cached file decodes as queries need them.
const pageIndexAllowance = 256 << 10

// block reads one Parquet block. It is immutable; what it decodes lives in
// the Store's cache.
type block struct {
	meta   BlockMeta
	tenant string
	bkt    objstore.BucketReader
	cache  *cache
	m      *metrics
}

func (b *block) object(file string) string { return objectName(b.tenant, b.meta.ULID, file) }

// guard turns a panic of the Parquet decoder on corrupt input into an
// error: a damaged object must never take the server down.
func guard(name string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: %w: decoder panic: %v\n%s", name, ErrCorrupt, r, debug.Stack())
	}
}

// seriesTable is series.parquet decoded.
type seriesTable struct {
	series []seriesEntry
	names  []string // every label name, sorted
	// postings lists, per label name and value, the ids of the series with
	// that label, ascending (so in label order).
	postings map[string]map[string][]int32
}

func (t *seriesTable) size() int64 {
	n := int64(64 * len(t.series))
	for i := range t.series {
		n += int64(t.series[i].lset.ByteSize()) + 4*int64(t.series[i].lset.Len())
	}
	return n
}

func (t *seriesTable) buildPostings() {
	t.postings = map[string]map[string][]int32{}
	for i := range t.series {
		t.series[i].lset.Range(func(l labels.Label) {
			byValue := t.postings[l.Name]
			if byValue == nil {
				byValue = map[string][]int32{}
				t.postings[l.Name] = byValue
			}
			byValue[l.Value] = append(byValue[l.Value], int32(i))
		})
	}
}

// postingsFor returns the ids of the series whose label name has one of
// values, ascending.
func (t *seriesTable) postingsFor(name string, values []string) []int32 {
	byValue := t.postings[name]
	if len(values) == 1 {
		return byValue[values[0]]
	}
	var out []int32
	for _, v := range values {
		out = append(out, byValue[v]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// seriesTable returns the decoded series.parquet, from the cache or read
// whole with one GetRange.
func (b *block) seriesTable(ctx context.Context) (t *seriesTable, err error) {
	name := b.object(SeriesFile)
	if v, ok := b.cache.get(cacheKey{object: name, kind: kindSeriesTable}); ok {
		return v.(*seriesTable), nil
	}
	defer guard(name, &err)
	fm, _ := b.meta.File(SeriesFile)
	rr := newRangeReader(ctx, b.bkt, name, fm.Size, b.cache, b.m)
	if err := rr.fetch([]byteRange{{0, fm.Size}}); err != nil {
		return nil, err
	}
	buf := make([]byte, fm.Size)
	if _, err := rr.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	f, err := parquet.OpenFile(newBytesReaderAt(buf), fm.Size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrCorrupt, err)
	}
	t, err = decodeSeriesTable(f, b.meta.NumSeries)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrCorrupt, err)
	}
	t.buildPostings()
	b.cache.put(cacheKey{object: name, kind: kindSeriesTable}, t, t.size())
	return t, nil
}

func decodeSeriesTable(f *parquet.File, numSeries uint64) (*seriesTable, error) {
	cols, err := newSeriesColumns(f.Schema())
	if err != nil {
		return nil, err
	}
	if uint64(f.NumRows()) != numSeries {
		return nil, fmt.Errorf("%d rows, meta.json says %d series", f.NumRows(), numSeries)
	}
	t := &seriesTable{series: make([]seriesEntry, 0, min(f.NumRows(), 1<<16))}
	for _, n := range cols.labels {
		t.names = append(t.names, n)
	}
	sort.Strings(t.names)
	var b labels.ScratchBuilder
	rows := make([]parquet.Row, 128)
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		for {
			n, err := rr.ReadRows(rows)
			for _, row := range rows[:n] {
				var e seriesEntry
				b.Reset()
				var id int64 = -1
				for _, v := range row {
					c := v.Column()
					if name, ok := cols.labels[c]; ok {
						if !v.IsNull() {
							b.Add(name, string(v.ByteArray()))
						}
						continue
					}
					if v.IsNull() || v.Kind() != parquet.Int64 {
						continue
					}
					switch c {
					case cols.ints[colSeriesID]:
						id = v.Int64()
					case cols.ints[colMinTime]:
						e.minTime = v.Int64()
					case cols.ints[colMaxTime]:
						e.maxTime = v.Int64()
					case cols.ints[colSamplesFirstRow]:
						e.samplesFirst = v.Int64()
					case cols.ints[colSamplesRows]:
						e.samplesN = v.Int64()
					case cols.ints[colHistogramFirstRow]:
						e.histFirst = v.Int64()
					case cols.ints[colHistogramRows]:
						e.histN = v.Int64()
					}
				}
				if id != int64(len(t.series)) {
					rr.Close()
					return nil, fmt.Errorf("row %d has series_id %d", len(t.series), id)
				}
				if e.samplesFirst < 0 || e.samplesN < 0 || e.histFirst < 0 || e.histN < 0 {
					rr.Close()
					return nil, fmt.Errorf("series %d: negative row range", id)
				}
				b.Sort()
				e.lset = b.Labels()
				if len(t.series) > 0 && labels.Compare(t.series[len(t.series)-1].lset, e.lset) >= 0 {
					rr.Close()
					return nil, fmt.Errorf("series %d not in label order", id)
				}
				t.series = append(t.series, e)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rr.Close()
				return nil, err
			}
		}
		rr.Close()
	}
	return t, nil
}

// dataFile is an opened samples.parquet or histograms.parquet: its footer
// and page index, decoded once and cached.
type dataFile struct {
	f       *parquet.File
	rgStart []int64 // first row of each row group
	cols    map[string]int
	tail    int64
	name    string // the object
	cache   *cache // where decoded pages go
}

func (d *dataFile) size() int64 {
	// The footer in memory: about its size on disk, times a factor for
	// the decoded form, and the page indexes decoded into it later.
	return 4*(d.f.Size()-d.tail) + pageIndexAllowance
}

// openData opens file (samples or histograms) of the block, fetching its
// tail (page index and footer) in one GetRange.
func (b *block) openData(file string) (d *dataFile, err error) {
	name := b.object(file)
	if v, ok := b.cache.get(cacheKey{object: name, kind: kindFile}); ok {
		return v.(*dataFile), nil
	}
	defer guard(name, &err)
	fm, ok := b.meta.File(file)
	if !ok {
		return nil, fmt.Errorf("%s: %w: not in meta.json", name, ErrCorrupt)
	}
	// Opening reads only the tail: with no query context at hand (the
	// result is shared), the open is bounded by the bucket's own timeouts.
	rr := newRangeReader(context.Background(), b.bkt, name, fm.Size, b.cache, b.m)
	if err := rr.fetch([]byteRange{{fm.footerStart(), fm.Size}}); err != nil {
		return nil, err
	}
	// The page index is left out here and read per row group and column
	// when a query needs it (loadPageIndex): it grows with the block, the
	// footer only with its row groups.
	f, err := parquet.OpenFile(rr, fm.Size, parquet.SkipMagicBytes(true), parquet.SkipBloomFilters(true),
		parquet.SkipPageIndex(true), parquet.ReadBufferSize(readBufferSize))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrCorrupt, err)
	}
	if f.NumRows() != fm.Rows {
		return nil, fmt.Errorf("%s: %w: %d rows, meta.json says %d", name, ErrCorrupt, f.NumRows(), fm.Rows)
	}
	d = &dataFile{f: f, cols: map[string]int{}, tail: fm.footerStart(), name: name, cache: b.cache}
	for i, p := range f.Schema().Columns() {
		if len(p) == 1 {
			d.cols[p[0]] = i
		}
	}
	var row int64
	for _, rg := range f.RowGroups() {
		d.rgStart = append(d.rgStart, row)
		row += rg.NumRows()
	}
	for _, c := range []string{colSeriesID, "timestamp"} {
		if _, ok := d.cols[c]; !ok {
			return nil, fmt.Errorf("%s: %w: no column %q", name, ErrCorrupt, c)
		}
	}
	b.cache.put(cacheKey{object: name, kind: kindFile}, d, d.size())
	return d, nil
}

// bytesReaderAt is an io.ReaderAt over a byte slice.
type bytesReaderAt []byte

func newBytesReaderAt(b []byte) bytesReaderAt { return b }

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
