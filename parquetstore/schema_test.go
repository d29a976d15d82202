package parquetstore

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// TestSchemaAsDocumented opens the objects of a written block as any
// Parquet reader would and checks them against SCHEMA.md: columns, their
// types and encodings, zstd, sorting columns, statistics, page index, and
// bloom filters on the label columns; and meta.json's fields.
func TestSchemaAsDocumented(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	m := genModel(r, 20, 0, 2*3600_000, 15_000)
	bkt := fsBucket(t)
	meta := upload(t, bkt, tenant, localBlock(t, m))

	type col struct {
		typ  format.Type
		enc  format.Encoding
		list bool
	}
	i64 := col{typ: format.Int64, enc: format.DeltaBinaryPacked}
	f64 := col{typ: format.Double, enc: format.Plain}
	i32 := col{typ: format.Int32, enc: format.Plain}
	want := map[string]map[string]col{
		SamplesFile: {"series_id": i64, "timestamp": i64, "value": {typ: format.Double, enc: format.ByteStreamSplit}},
		SeriesFile: {"series_id": i64, "min_time": i64, "max_time": i64, "samples_first_row": i64, "samples_rows": i64,
			"histograms_first_row": i64, "histograms_rows": i64,
			"labels.__name__": {typ: format.ByteArray, enc: format.RLEDictionary}, "labels.instance": {typ: format.ByteArray, enc: format.RLEDictionary},
			"labels.job": {typ: format.ByteArray, enc: format.RLEDictionary}, "labels.le": {typ: format.ByteArray, enc: format.RLEDictionary}},
		HistogramsFile: {"series_id": i64, "timestamp": i64, "integer": {typ: format.Boolean, enc: format.Plain},
			"counter_reset_hint": i32, "schema": i32, "zero_threshold": f64, "zero_count": f64, "count": f64, "sum": f64,
			"positive_span_offsets": {typ: format.Int32, enc: format.Plain, list: true}, "positive_span_lengths": {typ: format.Int32, enc: format.Plain, list: true},
			"positive_buckets":      {typ: format.Double, enc: format.Plain, list: true},
			"negative_span_offsets": {typ: format.Int32, enc: format.Plain, list: true}, "negative_span_lengths": {typ: format.Int32, enc: format.Plain, list: true},
			"negative_buckets": {typ: format.Double, enc: format.Plain, list: true}, "custom_values": {typ: format.Double, enc: format.Plain, list: true},
			"chunk_start": i32},
	}
	sorting := map[string][]string{SamplesFile: {"series_id", "timestamp"}, HistogramsFile: {"series_id", "timestamp"}, SeriesFile: {"series_id"}}

	for file, cols := range want {
		b := readObject(t, bkt, objectName(tenant, meta.ULID, file))
		f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		md := f.Metadata()
		var names []string
		for ci, path := range f.Schema().Columns() {
			// A LIST's leaf is <name>.list.element.
			name := strings.Join(path, ".")
			list := len(path) == 3 && path[1] == "list" && path[2] == "element"
			if list {
				name = path[0]
			}
			names = append(names, name)
			w, ok := cols[name]
			if !ok {
				t.Fatalf("%s: column %s is not in SCHEMA.md", file, name)
			}
			if list != w.list {
				t.Fatalf("%s: column %s list %v, want %v", file, name, list, w.list)
			}
			for ri, rg := range md.RowGroups {
				c := rg.Columns[ci].MetaData
				if c.Type != w.typ {
					t.Fatalf("%s: column %s type %v, want %v", file, name, c.Type, w.typ)
				}
				if !slices.Contains(c.Encoding, w.enc) {
					t.Fatalf("%s: column %s encodings %v, want %v", file, name, c.Encoding, w.enc)
				}
				if c.Codec != format.Zstd {
					t.Fatalf("%s: column %s codec %v, want ZSTD", file, name, c.Codec)
				}
				if rg.Columns[ci].ColumnIndexOffset == 0 || rg.Columns[ci].OffsetIndexOffset == 0 {
					t.Fatalf("%s: row group %d column %s has no page index", file, ri, name)
				}
				if !w.list && c.Statistics.MinValue == nil && c.Statistics.NullCount != c.NumValues {
					t.Fatalf("%s: column %s has no statistics", file, name)
				}
				if strings.HasPrefix(name, "labels.") && c.BloomFilterOffset == 0 {
					t.Fatalf("%s: label column %s has no bloom filter", file, name)
				}
			}
		}
		if len(names) != len(cols) {
			t.Fatalf("%s: columns %v, SCHEMA.md lists %d", file, names, len(cols))
		}
		for ri, rg := range md.RowGroups {
			var got []string
			for _, sc := range rg.SortingColumns {
				got = append(got, names[sc.ColumnIdx])
			}
			if !slices.Equal(got, sorting[file]) {
				t.Fatalf("%s: row group %d sorted by %v, want %v", file, ri, got, sorting[file])
			}
		}
	}

	var mj map[string]any
	if err := json.Unmarshal(readObject(t, bkt, objectName(tenant, meta.ULID, MetaFile)), &mj); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ulid", "minTime", "maxTime", "numSeries", "numSamples", "numFloatSamples", "numHistogramSamples", "level", "schemaVersion", "files"} {
		if _, ok := mj[k]; !ok {
			t.Fatalf("meta.json has no %q: %v", k, mj)
		}
	}
	for _, f := range mj["files"].([]any) {
		for _, k := range []string{"name", "size", "crc32c", "tailOffset", "footerOffset", "rows"} {
			if _, ok := f.(map[string]any)[k]; !ok {
				t.Fatalf("meta.json file entry has no %q: %v", k, f)
			}
		}
	}
}
