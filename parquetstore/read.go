package parquetstore

import (
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/parquet-go/parquet-go"
)

// rowRange is [start, end) of a data file's rows (global row numbers).
type rowRange struct{ start, end int64 }

func (r rowRange) empty() bool { return r.end <= r.start }

// rowGroups calls fn for every row group overlapping rows, with the row
// group's first and end row.
func (d *dataFile) rowGroups(rows rowRange, fn func(i int, rg parquet.RowGroup, start, end int64) error) error {
	for i, rg := range d.f.RowGroups() {
		start := d.rgStart[i]
		end := start + rg.NumRows()
		if end <= rows.start || start >= rows.end {
			continue
		}
		if err := fn(i, rg, start, end); err != nil {
			return err
		}
	}
	return nil
}

// narrow returns the part of a series' rows whose timestamp pages may hold
// samples in [mint, maxt], by the timestamp column's page index. A page
// shared with a neighbouring series is kept (its bounds cover both).
func (d *dataFile) narrow(rows rowRange, mint, maxt int64) rowRange {
	out := rowRange{rows.end, rows.start}
	col := d.cols["timestamp"]
	_ = d.rowGroups(rows, func(_ int, rg parquet.RowGroup, start, end int64) error {
		cc := rg.ColumnChunks()[col]
		oi, err1 := cc.OffsetIndex()
		ci, err2 := cc.ColumnIndex()
		if err1 != nil || err2 != nil || oi.NumPages() != ci.NumPages() {
			out.start = min(out.start, max(rows.start, start))
			out.end = max(out.end, min(rows.end, end))
			return nil
		}
		for p := firstPage(oi, start, rows.start); p < oi.NumPages(); p++ {
			p0 := start + oi.FirstRowIndex(p)
			p1 := end
			if p+1 < oi.NumPages() {
				p1 = start + oi.FirstRowIndex(p+1)
			}
			if p0 >= rows.end {
				break
			}
			if p1 <= rows.start {
				continue
			}
			if p0 >= rows.start && p1 <= rows.end && !ci.NullPage(p) {
				if ci.MaxValue(p).Int64() < mint || ci.MinValue(p).Int64() > maxt {
					continue
				}
			}
			out.start = min(out.start, max(rows.start, p0))
			out.end = max(out.end, min(rows.end, p1))
		}
		return nil
	})
	return out
}

// pageRanges appends the byte ranges of column col's pages that hold rows,
// each extended by the decoder's read-ahead so that decoding them needs no
// further fetch.
func (d *dataFile) pageRanges(col int, rows rowRange, out []byteRange) []byteRange {
	md := d.f.Metadata()
	_ = d.rowGroups(rows, func(i int, rg parquet.RowGroup, start, end int64) error {
		cmd := md.RowGroups[i].Columns[col].MetaData
		chunkStart := cmd.DataPageOffset
		if cmd.DictionaryPageOffset > 0 && cmd.DictionaryPageOffset < chunkStart {
			chunkStart = cmd.DictionaryPageOffset
			out = append(out, byteRange{cmd.DictionaryPageOffset, cmd.DataPageOffset + readBufferSize})
		}
		chunkEnd := chunkStart + cmd.TotalCompressedSize
		oi, err := rg.ColumnChunks()[col].OffsetIndex()
		if err != nil {
			out = append(out, byteRange{chunkStart, chunkEnd})
			return nil
		}
		for p := firstPage(oi, start, rows.start); p < oi.NumPages(); p++ {
			p0 := start + oi.FirstRowIndex(p)
			p1 := end
			if p+1 < oi.NumPages() {
				p1 = start + oi.FirstRowIndex(p+1)
			}
			if p0 >= rows.end {
				break
			}
			if p1 <= rows.start {
				continue
			}
			if d.cache.contains(cacheKey{object: d.name, kind: kindPage, rg: int32(i), col: int32(col), n: int64(p)}) {
				continue // decoded already: its bytes are not needed
			}
			off := oi.Offset(p)
			out = append(out, byteRange{off, min(chunkEnd, off+oi.CompressedPageSize(p)+readBufferSize)})
		}
		return nil
	})
	return out
}

// pageValues calls fn with the decoded values of every page of column col
// that holds rows, and the part of them that is in rows ([from, to) of
// the page's values). Decoded pages are cached: a dashboard's next refresh
// decodes nothing. The values must not be modified.
func (d *dataFile) pageValues(r io.ReaderAt, col int, rows rowRange, fn func(vals any, from, to int)) error {
	return d.rowGroups(rows, func(rgi int, rg parquet.RowGroup, start, end int64) error {
		cc, ok := rg.ColumnChunks()[col].(*parquet.FileColumnChunk)
		if !ok {
			return fmt.Errorf("%w: column %d is not a file column", ErrCorrupt, col)
		}
		oi, err := cc.OffsetIndex()
		if err != nil {
			return fmt.Errorf("%w: row group %d column %d: no offset index: %w", ErrCorrupt, rgi, col, err)
		}
		var pages *parquet.FilePages
		defer func() {
			if pages != nil {
				pages.Close()
			}
		}()
		for p := firstPage(oi, start, rows.start); p < oi.NumPages(); p++ {
			p0 := start + oi.FirstRowIndex(p)
			p1 := end
			if p+1 < oi.NumPages() {
				p1 = start + oi.FirstRowIndex(p+1)
			}
			if p0 >= rows.end {
				break
			}
			if p1 <= rows.start {
				continue
			}
			if p1 <= p0 || p1 > end {
				return fmt.Errorf("%w: row group %d column %d: page %d rows [%d, %d)", ErrCorrupt, rgi, col, p, p0, p1)
			}
			key := cacheKey{object: d.name, kind: kindPage, rg: int32(rgi), col: int32(col), n: int64(p)}
			vals, ok := d.cache.get(key)
			if !ok {
				if pages == nil {
					pages = cc.PagesFrom(r)
				}
				if vals, err = decodePage(pages, p0-start, p1-p0); err != nil {
					return fmt.Errorf("%w: row group %d column %d page %d: %w", ErrCorrupt, rgi, col, p, err)
				}
				d.cache.put(key, vals, 8*(p1-p0)+64)
			}
			fn(vals, int(max(rows.start, p0)-p0), int(min(rows.end, p1)-p0))
		}
		return nil
	})
}

// decodePage reads the page that starts at row first (of its row group)
// and holds n rows, and returns a copy of its values ([]int64 or
// []float64: the columns we read are required and of those types).
func decodePage(pages *parquet.FilePages, first, n int64) (any, error) {
	if err := pages.SeekToRow(first); err != nil {
		return nil, fmt.Errorf("seek to row %d: %w", first, err)
	}
	p, err := pages.ReadPage()
	if err != nil {
		return nil, err
	}
	defer parquet.Release(p)
	if p.NumRows() != n || p.NumNulls() > 0 {
		return nil, fmt.Errorf("%d rows (%d nulls), the offset index says %d", p.NumRows(), p.NumNulls(), n)
	}
	v := p.Data()
	switch p.Type().Kind() {
	case parquet.Int64:
		return slices.Clone(v.Int64()), nil
	case parquet.Double:
		return slices.Clone(v.Double()), nil
	}
	return nil, fmt.Errorf("values of kind %v", p.Type().Kind())
}

// readInt64s appends column col's values over rows to dst.
func (d *dataFile) readInt64s(r io.ReaderAt, col int, rows rowRange, dst []int64) ([]int64, error) {
	var bad error
	err := d.pageValues(r, col, rows, func(vals any, from, to int) {
		v, ok := vals.([]int64)
		if !ok || to > len(v) {
			bad = fmt.Errorf("%w: column %d is not a required int64", ErrCorrupt, col)
			return
		}
		dst = append(dst, v[from:to]...)
	})
	if err == nil {
		err = bad
	}
	return dst, err
}

// readTimes returns a series' timestamps in [mint, maxt] among rows (which
// are sorted by time) and the row of the first of them; it copies only
// those, binary-searching the decoded pages.
func (d *dataFile) readTimes(r io.ReaderAt, col int, rows rowRange, mint, maxt int64) (ts []int64, first int64, err error) {
	var bad error
	first = -1
	pos := rows.start
	err = d.pageValues(r, col, rows, func(vals any, from, to int) {
		v, ok := vals.([]int64)
		if !ok || to > len(v) {
			bad = fmt.Errorf("%w: column %d is not a required int64", ErrCorrupt, col)
			return
		}
		part := v[from:to]
		lo, _ := slices.BinarySearch(part, mint)
		hi, found := slices.BinarySearch(part, maxt)
		if found {
			hi++
			for hi < len(part) && part[hi] == maxt {
				hi++
			}
		}
		if lo < hi {
			if first < 0 {
				first = pos + int64(lo)
			}
			ts = append(ts, part[lo:hi]...)
		}
		pos += int64(len(part))
	})
	if err == nil {
		err = bad
	}
	return ts, first, err
}

// readDoubles appends column col's values over rows to dst.
func (d *dataFile) readDoubles(r io.ReaderAt, col int, rows rowRange, dst []float64) ([]float64, error) {
	var bad error
	err := d.pageValues(r, col, rows, func(vals any, from, to int) {
		v, ok := vals.([]float64)
		if !ok || to > len(v) {
			bad = fmt.Errorf("%w: column %d is not a required double", ErrCorrupt, col)
			return
		}
		dst = append(dst, v[from:to]...)
	})
	if err == nil {
		err = bad
	}
	return dst, err
}

// loadPageIndex makes sure the page indexes a read of rows needs are
// decoded: the timestamp column's column index (for narrow) and the offset
// indexes of cols (for pageRanges and seeking), for every row group the
// rows touch. What is missing is fetched at once, neighbours merged.
func (d *dataFile) loadPageIndex(rr *rangeReader, rows []rowRange, cols ...int) error {
	md := d.f.Metadata()
	rgs := map[int]bool{}
	for _, r := range rows {
		if r.empty() {
			continue
		}
		_ = d.rowGroups(r, func(i int, _ parquet.RowGroup, _, _ int64) error {
			rgs[i] = true
			return nil
		})
	}
	ts := d.cols["timestamp"]
	var ranges []byteRange
	for i := range rgs {
		c := md.RowGroups[i].Columns
		if ts < len(c) && c[ts].ColumnIndexOffset > 0 {
			ranges = append(ranges, byteRange{c[ts].ColumnIndexOffset, c[ts].ColumnIndexOffset + int64(c[ts].ColumnIndexLength)})
		}
		for _, col := range cols {
			if col < len(c) && c[col].OffsetIndexOffset > 0 {
				ranges = append(ranges, byteRange{c[col].OffsetIndexOffset, c[col].OffsetIndexOffset + int64(c[col].OffsetIndexLength)})
			}
		}
	}
	if err := rr.fetch(ranges); err != nil {
		return err
	}
	for i := range rgs {
		ccs := d.f.RowGroups()[i].ColumnChunks()
		for _, col := range append([]int{ts}, cols...) {
			cc, ok := ccs[col].(*parquet.FileColumnChunk)
			if !ok {
				return fmt.Errorf("%w: column %d is not a file column", ErrCorrupt, col)
			}
			if _, err := cc.OffsetIndexFrom(rr); err != nil {
				return fmt.Errorf("%w: row group %d column %d: offset index: %w", ErrCorrupt, i, col, err)
			}
			if col == ts {
				if _, err := cc.ColumnIndexFrom(rr); err != nil {
					return fmt.Errorf("%w: row group %d column %d: column index: %w", ErrCorrupt, i, col, err)
				}
			}
		}
	}
	return nil
}

// firstPage returns the first page of a column chunk whose rows may
// include row (rows are global, the chunk's row group starts at start): a
// binary search over the offset index, as a series' rows are a small part
// of a row group.
func firstPage(oi parquet.OffsetIndex, start, row int64) int {
	n := oi.NumPages()
	p := sort.Search(n, func(i int) bool { return start+oi.FirstRowIndex(i) > row }) - 1
	return max(p, 0)
}
