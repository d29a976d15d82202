package parquetstore

import (
	"fmt"
	"sort"

	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/prometheus/model/labels"
)

// SeriesID is a series' row number in series.parquet (0-based, in label
// order); samples.parquet and histograms.parquet refer to it. It is local
// to one block.
type SeriesID = int64

// Column names of series.parquet besides the label columns, which are
// leaves of the group labelsGroup (one optional string column per label
// name in the block).
const (
	colSeriesID          = "series_id"
	colMinTime           = "min_time"
	colMaxTime           = "max_time"
	colSamplesFirstRow   = "samples_first_row"
	colSamplesRows       = "samples_rows"
	colHistogramFirstRow = "histograms_first_row"
	colHistogramRows     = "histograms_rows"
	labelsGroup          = "labels"
)

// sampleRow is one row of samples.parquet.
type sampleRow struct {
	SeriesID  int64   `parquet:"series_id,delta"`
	Timestamp int64   `parquet:"timestamp,delta"`
	Value     float64 `parquet:"value,split"`
}

// histogramRow is one row of histograms.parquet: a native histogram in the
// fields of Prometheus's FloatHistogram, with absolute bucket counts (an
// integer histogram's delta-encoded buckets are summed up).
type histogramRow struct {
	SeriesID            int64     `parquet:"series_id,delta"`
	Timestamp           int64     `parquet:"timestamp,delta"`
	Integer             bool      `parquet:"integer"`
	CounterResetHint    int32     `parquet:"counter_reset_hint"`
	Schema              int32     `parquet:"schema"`
	ZeroThreshold       float64   `parquet:"zero_threshold"`
	ZeroCount           float64   `parquet:"zero_count"`
	Count               float64   `parquet:"count"`
	Sum                 float64   `parquet:"sum"`
	PositiveSpanOffsets []int32   `parquet:"positive_span_offsets,list"`
	PositiveSpanLengths []int32   `parquet:"positive_span_lengths,list"`
	PositiveBuckets     []float64 `parquet:"positive_buckets,list"`
	NegativeSpanOffsets []int32   `parquet:"negative_span_offsets,list"`
	NegativeSpanLengths []int32   `parquet:"negative_span_lengths,list"`
	NegativeBuckets     []float64 `parquet:"negative_buckets,list"`
	CustomValues        []float64 `parquet:"custom_values,list"`
	// ChunkStart marks the first sample of each chunk of the source block
	// with its chunk's counter-reset header: 0 not a chunk's first sample
	// (or a block written before the column), 1 + the header's two bits
	// (1 unknown, 2 not a counter reset, 3 counter reset, 4 gauge). The
	// chunk querier cuts chunks there, with that header, as Prometheus's
	// own chunks are (streamed remote read sends them as they are).
	ChunkStart int32 `parquet:"chunk_start"`
}

// seriesInts are the integer columns of series.parquet, in schema order
// (parquet-go orders a group's fields by name).
var seriesInts = []string{colHistogramFirstRow, colHistogramRows, colMaxTime, colMinTime, colSamplesFirstRow, colSamplesRows, colSeriesID}

// seriesSchema is series.parquet's schema for a block whose series use
// labelNames (sorted, unique).
func seriesSchema(labelNames []string) *parquet.Schema {
	lbls := parquet.Group{}
	for _, n := range labelNames {
		lbls[n] = parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary))
	}
	g := parquet.Group{labelsGroup: lbls}
	for _, c := range seriesInts {
		g[c] = parquet.Encoded(parquet.Int(64), &parquet.DeltaBinaryPacked)
	}
	return parquet.NewSchema("series", g)
}

// seriesColumns maps series.parquet's leaf columns to what they hold.
type seriesColumns struct {
	ints   map[string]int // column index of each of seriesInts
	labels map[int]string // column index -> label name
	byName map[string]int // label name -> column index
}

func newSeriesColumns(s *parquet.Schema) (seriesColumns, error) {
	c := seriesColumns{ints: map[string]int{}, labels: map[int]string{}, byName: map[string]int{}}
	for i, p := range s.Columns() {
		switch {
		case len(p) == 2 && p[0] == labelsGroup:
			c.labels[i] = p[1]
			c.byName[p[1]] = i
		case len(p) == 1:
			c.ints[p[0]] = i
		}
	}
	for _, n := range seriesInts {
		if _, ok := c.ints[n]; !ok {
			return c, fmt.Errorf("no column %q", n)
		}
	}
	return c, nil
}

// seriesEntry is one row of series.parquet in memory.
type seriesEntry struct {
	lset                   labels.Labels
	minTime, maxTime       int64 // of the series' samples in this block, inclusive
	samplesFirst, samplesN int64
	histFirst, histN       int64
}

// seriesRow builds the parquet row of series id.
func seriesRow(cols seriesColumns, ncols int, id int64, e *seriesEntry, row parquet.Row) parquet.Row {
	row = row[:0]
	for i := 0; i < ncols; i++ {
		row = append(row, parquet.Value{})
	}
	for i := range row {
		row[i] = parquet.NullValue().Level(0, 0, i)
	}
	set := func(name string, v int64) {
		i := cols.ints[name]
		row[i] = parquet.Int64Value(v).Level(0, 0, i)
	}
	set(colSeriesID, id)
	set(colMinTime, e.minTime)
	set(colMaxTime, e.maxTime)
	set(colSamplesFirstRow, e.samplesFirst)
	set(colSamplesRows, e.samplesN)
	set(colHistogramFirstRow, e.histFirst)
	set(colHistogramRows, e.histN)
	e.lset.Range(func(l labels.Label) {
		i := cols.byName[l.Name]
		row[i] = parquet.ByteArrayValue([]byte(l.Value)).Level(0, 1, i)
	})
	return row
}

func sortedNames(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
