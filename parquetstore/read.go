package parquetstore

import (
	"fmt"
	"io"

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
		for p := 0; p < oi.NumPages(); p++ {
			p0 := start + oi.FirstRowIndex(p)
			p1 := end
			if p+1 < oi.NumPages() {
				p1 = start + oi.FirstRowIndex(p+1)
			}
			if p1 <= rows.start || p0 >= rows.end {
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
		for p := 0; p < oi.NumPages(); p++ {
			p0 := start + oi.FirstRowIndex(p)
			p1 := end
			if p+1 < oi.NumPages() {
				p1 = start + oi.FirstRowIndex(p+1)
			}
			if p1 <= rows.start || p0 >= rows.end {
				continue
			}
			off := oi.Offset(p)
			out = append(out, byteRange{off, min(chunkEnd, off+oi.CompressedPageSize(p)+readBufferSize)})
		}
		return nil
	})
	return out
}

// readColumn calls fn with every page of column col, sliced to rows, read
// through r.
func (d *dataFile) readColumn(r io.ReaderAt, col int, rows rowRange, fn func(parquet.Page)) error {
	return d.rowGroups(rows, func(_ int, rg parquet.RowGroup, start, end int64) error {
		cc, ok := rg.ColumnChunks()[col].(*parquet.FileColumnChunk)
		if !ok {
			return fmt.Errorf("%w: column %d is not a file column", ErrCorrupt, col)
		}
		pages := cc.PagesFrom(r)
		defer pages.Close()
		from := max(rows.start, start)
		remaining := min(rows.end, end) - from
		if err := pages.SeekToRow(from - start); err != nil {
			return fmt.Errorf("%w: seek to row %d: %w", ErrCorrupt, from, err)
		}
		for remaining > 0 {
			p, err := pages.ReadPage()
			if err != nil {
				return fmt.Errorf("%w: column %d at row %d: %w", ErrCorrupt, col, min(rows.end, end)-remaining, err)
			}
			n := p.NumRows()
			if n == 0 {
				parquet.Release(p)
				return fmt.Errorf("%w: column %d: empty page", ErrCorrupt, col)
			}
			if n > remaining {
				q := p.Slice(0, remaining)
				parquet.Release(p)
				p, n = q, remaining
			}
			fn(p)
			parquet.Release(p)
			remaining -= n
		}
		return nil
	})
}

// readInt64s appends column col's values over rows to dst.
func (d *dataFile) readInt64s(r io.ReaderAt, col int, rows rowRange, dst []int64) ([]int64, error) {
	var bad error
	err := d.readColumn(r, col, rows, func(p parquet.Page) {
		if p.Type().Kind() != parquet.Int64 || p.NumNulls() > 0 {
			bad = fmt.Errorf("%w: column %d is not a required int64", ErrCorrupt, col)
			return
		}
		v := p.Data()
		dst = append(dst, v.Int64()...)
	})
	if err == nil {
		err = bad
	}
	return dst, err
}

// readDoubles appends column col's values over rows to dst.
func (d *dataFile) readDoubles(r io.ReaderAt, col int, rows rowRange, dst []float64) ([]float64, error) {
	var bad error
	err := d.readColumn(r, col, rows, func(p parquet.Page) {
		if p.Type().Kind() != parquet.Double || p.NumNulls() > 0 {
			bad = fmt.Errorf("%w: column %d is not a required double", ErrCorrupt, col)
			return
		}
		v := p.Data()
		dst = append(dst, v.Double()...)
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
