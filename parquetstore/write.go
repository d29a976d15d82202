package parquetstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/thanos-io/objstore"
)

// Layout knobs. Pages are small (4,096 rows: 32 KiB of int64 or double
// before encoding; 8 KiB pages cost 4% more bytes per sample and a larger
// page index for no fewer bytes read) so that the page index narrows a series'
// day to the hour a dashboard asks for; row groups are large enough for an
// SQL engine to scan in parallel without a footer that grows with every
// series.
const (
	pageBufferSize     = 32 << 10
	samplesRowsPerRG   = 1 << 20
	seriesRowsPerRG    = 1 << 16
	histogramRowsPerRG = 1 << 16
	writeBatch         = 4096
	// maxExactCount is the largest integer a float64 holds exactly: the
	// counts of integer histograms are stored as doubles.
	maxExactCount = 1 << 53
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Write streams every series of q over [meta.MinTime, meta.MaxTime) into
// <tenant>/<ULID>/ in bkt: samples.parquet (and histograms.parquet when
// the block has native histograms), series.parquet, then meta.json.
// Idempotent: re-running after a crash overwrites partial objects; a block
// whose meta.json exists is complete. q's series must come sorted by
// labels, each with its chunks in time order and disjoint (as a block's
// chunk querier gives them).
func Write(ctx context.Context, bkt objstore.Bucket, tenant string, meta BlockMeta, q storage.ChunkQuerier) error {
	if err := writeBlock(ctx, bkt, tenant, &meta, q); err != nil {
		return fmt.Errorf("parquetstore: write block %s/%s: %w", tenant, meta.ULID, err)
	}
	return nil
}

func writeBlock(ctx context.Context, bkt objstore.Bucket, tenant string, meta *BlockMeta, q storage.ChunkQuerier) error {
	if meta.MinTime >= meta.MaxTime {
		return fmt.Errorf("empty range [%d, %d)", meta.MinTime, meta.MaxTime)
	}
	if err := validTenant(tenant); err != nil {
		return err
	}
	samples := newObjectWriter(ctx, bkt, objectName(tenant, meta.ULID, SamplesFile))
	sw := parquet.NewGenericWriter[sampleRow](samples,
		parquet.Compression(zstdCodec),
		parquet.PageBufferSize(pageBufferSize),
		parquet.MaxRowsPerRowGroup(samplesRowsPerRG),
		parquet.SortingWriterConfig(parquet.SortingColumns(parquet.Ascending(colSeriesID), parquet.Ascending("timestamp"))),
		parquet.CreatedBy("mytsdb", "parquetstore", fmt.Sprint(SchemaVersion)),
	)
	var (
		hists *objectWriter
		hw    *parquet.GenericWriter[histogramRow]
	)
	abort := func(err error) error {
		samples.abort(err)
		if hists != nil {
			hists.abort(err)
		}
		return err
	}

	var (
		series     []seriesEntry
		names      = map[string]struct{}{}
		sbuf       = make([]sampleRow, 0, writeBatch)
		hbuf       []histogramRow
		nRows      int64
		nHistRows  int64
		prevLabels labels.Labels
	)
	flushSamples := func() error {
		if len(sbuf) == 0 {
			return nil
		}
		_, err := sw.Write(sbuf)
		sbuf = sbuf[:0]
		return err
	}
	flushHists := func() error {
		if len(hbuf) == 0 {
			return nil
		}
		if hw == nil {
			hists = newObjectWriter(ctx, bkt, objectName(tenant, meta.ULID, HistogramsFile))
			hw = parquet.NewGenericWriter[histogramRow](hists,
				parquet.Compression(zstdCodec),
				parquet.PageBufferSize(pageBufferSize),
				parquet.MaxRowsPerRowGroup(histogramRowsPerRG),
				parquet.SortingWriterConfig(parquet.SortingColumns(parquet.Ascending(colSeriesID), parquet.Ascending("timestamp"))),
				parquet.CreatedBy("mytsdb", "parquetstore", fmt.Sprint(SchemaVersion)),
			)
		}
		_, err := hw.Write(hbuf)
		hbuf = hbuf[:0]
		return err
	}

	ss := q.Select(ctx, true, &storage.SelectHints{Start: meta.MinTime, End: meta.MaxTime - 1},
		labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".*"))
	var it chunkenc.Iterator
	for ss.Next() {
		if err := ctx.Err(); err != nil {
			return abort(err)
		}
		cs := ss.At()
		lset := cs.Labels()
		if len(series) > 0 && labels.Compare(prevLabels, lset) >= 0 {
			return abort(fmt.Errorf("series not sorted by labels: %s after %s", lset, prevLabels))
		}
		id := int64(len(series))
		e := seriesEntry{minTime: math.MaxInt64, maxTime: math.MinInt64, samplesFirst: nRows, histFirst: nHistRows}
		last := int64(math.MinInt64)
		chks := cs.Iterator(nil)
		for chks.Next() {
			c := chks.At()
			it = c.Chunk.Iterator(it)
			start := chunkStartOf(c.Chunk) // for the chunk's first histogram in range
			for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
				t := it.AtT()
				if t < meta.MinTime || t >= meta.MaxTime {
					continue
				}
				if t <= last {
					return abort(fmt.Errorf("series %s: samples out of order or duplicated at %d", lset, t))
				}
				last = t
				e.minTime = min(e.minTime, t)
				e.maxTime = max(e.maxTime, t)
				switch vt {
				case chunkenc.ValFloat:
					_, v := it.At()
					sbuf = append(sbuf, sampleRow{SeriesID: id, Timestamp: t, Value: v})
					e.samplesN++
					nRows++
					if len(sbuf) == cap(sbuf) {
						if err := flushSamples(); err != nil {
							return abort(err)
						}
					}
				case chunkenc.ValHistogram:
					_, h := it.AtHistogram(nil)
					r, err := intHistogramRow(id, t, h)
					if err != nil {
						return abort(fmt.Errorf("series %s at %d: %w", lset, t, err))
					}
					r.ChunkStart, start = start, 0
					hbuf = append(hbuf, r)
					e.histN++
					nHistRows++
				case chunkenc.ValFloatHistogram:
					_, fh := it.AtFloatHistogram(nil)
					r := floatHistogramRow(id, t, fh)
					r.ChunkStart, start = start, 0
					hbuf = append(hbuf, r)
					e.histN++
					nHistRows++
				}
				if len(hbuf) >= writeBatch {
					if err := flushHists(); err != nil {
						return abort(err)
					}
				}
			}
			if err := it.Err(); err != nil {
				return abort(fmt.Errorf("series %s: %w", lset, err))
			}
		}
		if err := chks.Err(); err != nil {
			return abort(fmt.Errorf("series %s: %w", lset, err))
		}
		if e.samplesN+e.histN == 0 {
			continue
		}
		e.lset = lset.Copy()
		prevLabels = e.lset
		lset.Range(func(l labels.Label) { names[l.Name] = struct{}{} })
		series = append(series, e)
	}
	if err := ss.Err(); err != nil {
		return abort(fmt.Errorf("select: %w", err))
	}
	if err := flushSamples(); err != nil {
		return abort(err)
	}
	if err := flushHists(); err != nil {
		return abort(err)
	}
	if err := sw.Close(); err != nil {
		return abort(fmt.Errorf("%s: %w", SamplesFile, err))
	}
	files := make([]FileMeta, 0, 3)
	fm, err := samples.finish(SamplesFile, nRows, sw.File())
	if err != nil {
		return abort(err)
	}
	files = append(files, fm)
	if hw != nil {
		if err := hw.Close(); err != nil {
			return abort(fmt.Errorf("%s: %w", HistogramsFile, err))
		}
		fm, err := hists.finish(HistogramsFile, nHistRows, hw.File())
		if err != nil {
			return abort(err)
		}
		files = append(files, fm)
	}

	fm, err = writeSeries(ctx, bkt, objectName(tenant, meta.ULID, SeriesFile), sortedNames(names), series)
	if err != nil {
		return err
	}
	files = append(files, fm)

	meta.NumSeries = uint64(len(series))
	meta.NumFloatSamples = uint64(nRows)
	meta.NumHistogramSamples = uint64(nHistRows)
	meta.NumSamples = uint64(nRows + nHistRows)
	meta.SchemaVersion = SchemaVersion
	meta.Files = files
	b, err := json.MarshalIndent(meta, "", "\t")
	if err != nil {
		return err
	}
	if err := bkt.Upload(ctx, objectName(tenant, meta.ULID, MetaFile), bytes.NewReader(b)); err != nil {
		return fmt.Errorf("upload %s: %w", MetaFile, err)
	}
	return nil
}

func writeSeries(ctx context.Context, bkt objstore.Bucket, name string, labelNames []string, series []seriesEntry) (FileMeta, error) {
	schema := seriesSchema(labelNames)
	cols, err := newSeriesColumns(schema)
	if err != nil {
		return FileMeta{}, err
	}
	opts := []parquet.WriterOption{
		schema,
		parquet.Compression(zstdCodec),
		parquet.PageBufferSize(pageBufferSize),
		parquet.MaxRowsPerRowGroup(seriesRowsPerRG),
		parquet.SortingWriterConfig(parquet.SortingColumns(parquet.Ascending(colSeriesID))),
		parquet.CreatedBy("mytsdb", "parquetstore", fmt.Sprint(SchemaVersion)),
	}
	var filters []parquet.BloomFilterColumn
	for _, n := range labelNames {
		filters = append(filters, parquet.SplitBlockFilter(10, labelsGroup, n))
	}
	if len(filters) > 0 {
		opts = append(opts, parquet.BloomFilters(filters...))
	}
	ow := newObjectWriter(ctx, bkt, name)
	w := parquet.NewGenericWriter[any](ow, opts...)
	ncols := len(schema.Columns())
	rows := make([]parquet.Row, 0, 256)
	flush := func() error {
		if _, err := w.WriteRows(rows); err != nil {
			return err
		}
		rows = rows[:0]
		return nil
	}
	for i := range series {
		rows = append(rows, seriesRow(cols, ncols, int64(i), &series[i], nil))
		if len(rows) == cap(rows) {
			if err := flush(); err != nil {
				ow.abort(err)
				return FileMeta{}, fmt.Errorf("%s: %w", SeriesFile, err)
			}
		}
	}
	if err := flush(); err != nil {
		ow.abort(err)
		return FileMeta{}, fmt.Errorf("%s: %w", SeriesFile, err)
	}
	if err := w.Close(); err != nil {
		ow.abort(err)
		return FileMeta{}, fmt.Errorf("%s: %w", SeriesFile, err)
	}
	return ow.finish(SeriesFile, int64(len(series)), w.File())
}

// tailOffsets returns where the page indexes begin and where the footer
// begins (the writer puts column indexes, then offset indexes, then the
// footer after the last row group); -1 when the file has no page index.
func tailOffsets(f parquet.FileView) (tail, footer int64) {
	md := f.Metadata()
	tail, footer = -1, -1
	for _, rg := range md.RowGroups {
		for _, c := range rg.Columns {
			for _, o := range []int64{c.ColumnIndexOffset, c.OffsetIndexOffset} {
				if o > 0 && (tail < 0 || o < tail) {
					tail = o
				}
			}
			if c.OffsetIndexOffset > 0 {
				footer = max(footer, c.OffsetIndexOffset+int64(c.OffsetIndexLength))
			}
			if c.ColumnIndexOffset > 0 {
				footer = max(footer, c.ColumnIndexOffset+int64(c.ColumnIndexLength))
			}
		}
	}
	return tail, footer
}

// objectWriter streams what is written to it into one Upload, counting
// its size and CRC32C.
type objectWriter struct {
	name  string
	pw    *io.PipeWriter
	done  chan error
	crc   hash.Hash32
	n     int64
	err   error // the upload's result, once ended (ended)
	ended bool
}

// wait ends the upload once and returns its result.
func (w *objectWriter) wait() error {
	if !w.ended {
		w.err = <-w.done
		w.ended = true
	}
	return w.err
}

func newObjectWriter(ctx context.Context, bkt objstore.Bucket, name string) *objectWriter {
	pr, pw := io.Pipe()
	w := &objectWriter{name: name, pw: pw, done: make(chan error, 1), crc: crc32.New(castagnoli)}
	go func() {
		err := bkt.Upload(ctx, name, pr)
		// An upload that ends (with or without an error) before the
		// writer is done makes the writer's next Write fail.
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w
}

func (w *objectWriter) Write(p []byte) (int, error) {
	n, err := w.pw.Write(p)
	w.crc.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// finish ends the upload and describes the object.
func (w *objectWriter) finish(file string, rows int64, f parquet.FileView) (FileMeta, error) {
	tail, footer := tailOffsets(f)
	w.pw.Close()
	if err := w.wait(); err != nil {
		return FileMeta{}, fmt.Errorf("upload %s: %w", w.name, err)
	}
	if tail < 0 || tail > w.n {
		tail = max(0, w.n-64<<10)
	}
	if footer < tail || footer > w.n {
		footer = tail
	}
	return FileMeta{Name: file, Size: w.n, CRC32C: hex.EncodeToString(w.crc.Sum(nil)), TailOffset: tail, FooterOffset: footer, Rows: rows}, nil
}

// abort stops an upload that is still running; a finished one stays (the
// block is invisible without meta.json, and the next Write replaces it).
func (w *objectWriter) abort(err error) {
	w.pw.CloseWithError(err)
	w.wait()
}

// chunkStartOf is histogramRow.ChunkStart for the first sample of c: 1 +
// the counter-reset header of a histogram chunk (the top two bits of its
// third byte, upstream's chunk layout), 0 for any other chunk.
func chunkStartOf(c chunkenc.Chunk) int32 {
	switch c.Encoding() {
	case chunkenc.EncHistogram, chunkenc.EncFloatHistogram:
		if b := c.Bytes(); len(b) > chunkHeaderFlagPos {
			return 1 + int32(b[chunkHeaderFlagPos]>>6)
		}
	}
	return 0
}

// chunkHeaderFlagPos is where upstream's histogram chunks keep their
// counter-reset header (its top two bits), after the 2-byte sample count.
const chunkHeaderFlagPos = 2

func intHistogramRow(id, t int64, h *histogram.Histogram) (histogramRow, error) {
	if h.Count >= maxExactCount || h.ZeroCount >= maxExactCount {
		return histogramRow{}, fmt.Errorf("integer histogram count %d too large for a float64", h.Count)
	}
	r := histogramRow{
		SeriesID: id, Timestamp: t, Integer: true,
		CounterResetHint: int32(h.CounterResetHint), Schema: h.Schema,
		ZeroThreshold: h.ZeroThreshold, ZeroCount: float64(h.ZeroCount), Count: float64(h.Count), Sum: h.Sum,
		CustomValues: h.CustomValues,
	}
	r.PositiveSpanOffsets, r.PositiveSpanLengths = spanColumns(h.PositiveSpans)
	r.NegativeSpanOffsets, r.NegativeSpanLengths = spanColumns(h.NegativeSpans)
	var err error
	if r.PositiveBuckets, err = absoluteBuckets(h.PositiveBuckets); err != nil {
		return r, err
	}
	if r.NegativeBuckets, err = absoluteBuckets(h.NegativeBuckets); err != nil {
		return r, err
	}
	return r, nil
}

func floatHistogramRow(id, t int64, h *histogram.FloatHistogram) histogramRow {
	r := histogramRow{
		SeriesID: id, Timestamp: t,
		CounterResetHint: int32(h.CounterResetHint), Schema: h.Schema,
		ZeroThreshold: h.ZeroThreshold, ZeroCount: h.ZeroCount, Count: h.Count, Sum: h.Sum,
		PositiveBuckets: h.PositiveBuckets, NegativeBuckets: h.NegativeBuckets,
		CustomValues: h.CustomValues,
	}
	r.PositiveSpanOffsets, r.PositiveSpanLengths = spanColumns(h.PositiveSpans)
	r.NegativeSpanOffsets, r.NegativeSpanLengths = spanColumns(h.NegativeSpans)
	return r
}

func spanColumns(spans []histogram.Span) (offs, lens []int32) {
	if len(spans) == 0 {
		return nil, nil
	}
	offs = make([]int32, len(spans))
	lens = make([]int32, len(spans))
	for i, s := range spans {
		offs[i], lens[i] = s.Offset, int32(s.Length)
	}
	return offs, lens
}

// absoluteBuckets turns an integer histogram's delta-encoded bucket counts
// into absolute counts, which any reader can use as they are.
func absoluteBuckets(deltas []int64) ([]float64, error) {
	if len(deltas) == 0 {
		return nil, nil
	}
	out := make([]float64, len(deltas))
	var c int64
	for i, d := range deltas {
		c += d
		if c >= maxExactCount || c <= -maxExactCount {
			return nil, fmt.Errorf("integer histogram bucket count %d too large for a float64", c)
		}
		out[i] = float64(c)
	}
	return out, nil
}

// validTenant keeps object names inside <tenant>/ (the storage layer checks
// tenant IDs fully; this only refuses what would escape the prefix).
func validTenant(t string) error {
	if t == "" || t == "." || t == ".." || bytes.ContainsAny([]byte(t), "/\\") {
		return fmt.Errorf("bad tenant %q", t)
	}
	return nil
}

// zstdCodec compresses every page. Blocks are written once, in the
// background, and read many times: the better ratio is worth the CPU.
var zstdCodec = &zstd.Codec{Level: zstd.SpeedBetterCompression}
