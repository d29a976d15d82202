package wal

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// codecCase runs one record type through the generic codec checks.
type codecCase struct {
	typ RecordType
	// gen encodes n random entries onto dst and returns the record and a
	// function that decodes a record and compares it with the entries.
	gen func(r *rand.Rand, n int, dst []byte) (rec []byte, check func(rec []byte) error)
}

func makeCase[T any](typ RecordType, gen func(*rand.Rand, int) []T, enc func([]byte, []T) []byte,
	dec func([]byte, []T) ([]T, error), diff func(a, b []T) error) codecCase {
	return codecCase{typ: typ, gen: func(r *rand.Rand, n int, dst []byte) ([]byte, func([]byte) error) {
		want := gen(r, n)
		return enc(dst, want), func(rec []byte) error {
			// Decode onto a non-empty dst: decoders append.
			pre := gen(r, 1)
			got, err := dec(rec, pre)
			if err != nil {
				return err
			}
			if err := diff(got[:1], pre); err != nil {
				return err
			}
			return diff(got[1:], want)
		}
	}}
}

var codecCases = []codecCase{
	makeCase(RecordSeries, genSeries, AppendSeriesRecord, DecodeSeriesRecord, diffSeries),
	makeCase(RecordSamples, genSamples, AppendSamplesRecord, DecodeSamplesRecord, diffSamples),
	makeCase(RecordHistograms, genHistogramSamples, AppendHistogramsRecord, DecodeHistogramsRecord, diffHistogramSamples),
	makeCase(RecordFloatHistograms, genFloatHistogramSamples, AppendFloatHistogramsRecord, DecodeFloatHistogramsRecord, diffFloatHistogramSamples),
	makeCase(RecordExemplars, genExemplars, AppendExemplarsRecord, DecodeExemplarsRecord, diffExemplars),
	makeCase(RecordMetadata, genMetadata, AppendMetadataRecord, DecodeMetadataRecord, diffMetadata),
	makeCase(RecordTombstones, genTombstones, AppendTombstonesRecord, DecodeTombstonesRecord, diffTombstones),
}

// decoders by type, for the wrong-type checks.
var decoders = map[RecordType]func([]byte) error{
	RecordSeries:          func(b []byte) error { _, err := DecodeSeriesRecord(b, nil); return err },
	RecordSamples:         func(b []byte) error { _, err := DecodeSamplesRecord(b, nil); return err },
	RecordHistograms:      func(b []byte) error { _, err := DecodeHistogramsRecord(b, nil); return err },
	RecordFloatHistograms: func(b []byte) error { _, err := DecodeFloatHistogramsRecord(b, nil); return err },
	RecordExemplars:       func(b []byte) error { _, err := DecodeExemplarsRecord(b, nil); return err },
	RecordMetadata:        func(b []byte) error { _, err := DecodeMetadataRecord(b, nil); return err },
	RecordTombstones:      func(b []byte) error { _, err := DecodeTombstonesRecord(b, nil); return err },
}

func TestRecordRoundTrip(t *testing.T) {
	for _, c := range codecCases {
		t.Run(c.typ.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(c.typ)))
			for iter := range 60 {
				n := []int{0, 1, 2, 7, 100}[iter%5]
				prefix := []byte("prefix")
				out, check := c.gen(r, n, prefix)
				if !bytes.HasPrefix(out, []byte("prefix")) {
					t.Fatalf("encoder clobbered dst's prefix")
				}
				rec := out[len(prefix):]
				if got := TypeOf(rec); got != c.typ {
					t.Fatalf("TypeOf = %v, want %v", got, c.typ)
				}
				if err := check(rec); err != nil {
					t.Fatalf("n=%d: %v", n, err)
				}
				// Every strict prefix fails to decode, and so does a trailing byte.
				for i := 0; i < len(rec); i++ {
					if n > 7 && i%97 != 0 {
						continue // long records: a sample of prefixes
					}
					if err := decoders[c.typ](rec[:i]); err == nil {
						t.Fatalf("prefix of %d/%d bytes decoded without error", i, len(rec))
					}
				}
				if err := decoders[c.typ](append(rec[:len(rec):len(rec)], 0)); err == nil {
					t.Fatalf("record with a trailing byte decoded without error")
				}
				// Another type's decoder refuses it.
				for typ, dec := range decoders {
					if typ != c.typ && dec(rec) == nil {
						t.Fatalf("%v decoder accepted a %v record", typ, c.typ)
					}
				}
			}
		})
	}
}

func TestTypeOf(t *testing.T) {
	for _, b := range [][]byte{nil, {}, {0}, {8}, {255}} {
		if got := TypeOf(b); got != RecordUnknown {
			t.Errorf("TypeOf(%v) = %v", b, got)
		}
	}
}

// TestSamplesRecordBytes pins the samples layout documented in FORMAT.md.
func TestSamplesRecordBytes(t *testing.T) {
	got := AppendSamplesRecord(nil, []RefSample{{Ref: 1, T: 1000, V: 5}, {Ref: 2, T: 1000, V: 0.5}, {Ref: 1, T: 999, V: math.Pi}})
	want := []byte{
		byte(RecordSamples), 3,
		0x02, 0xd0, 0x0f, 0x14, // ref +1, t +1000 (zigzag 2000), 5 as integer: zigzag(5)<<1 = 20
		0x02, 0x00, 0x53, // ref +1, t +0, 0.5 as 5/10^1: zigzag(5)<<3 | 1<<1 | 1 = 83
		0x01, 0x01, 0x01, // ref -1, t -1, tag 1: 8 raw bytes follow
	}
	want = binary.LittleEndian.AppendUint64(want, math.Float64bits(math.Pi))
	if !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
}

// TestFloatTagging checks every form of the tagged float encoding is bit
// exact and taken exactly when it applies.
func TestFloatTagging(t *testing.T) {
	vals := append([]float64{0.1, 0.25, -12.34, 99.999, 1e-3, 0.1 + 0.2, 1.0 / 3, 9007199254740.99, 123456.7},
		specialFloats...)
	r := rand.New(rand.NewPCG(9, 9))
	for range 10000 {
		vals = append(vals, float64(r.IntN(2_000_000)-1_000_000)/100, genFloat(r))
	}
	for _, v := range vals {
		b := appendFloat(nil, v)
		d := decoder{b: b}
		if got := d.float(); d.err != nil || !sameFloat(got, v) || len(d.b) != 0 {
			t.Fatalf("%v (%x): got %v err %v", v, math.Float64bits(v), got, d.err)
		}
		_, isInt := floatAsInt(v)
		_, _, isDec := floatAsDecimal(v)
		if raw := len(b) == 9 && b[0] == 1; raw != (!isInt && !isDec) {
			t.Fatalf("%v: %d bytes, integer=%v decimal=%v", v, len(b), isInt, isDec)
		}
	}
	for v, want := range map[float64]int{12.34: 3, 99.99: 3, 0.001: 1, 0.5: 1, 1234.5: 3, 42: 2, 7: 1, math.Pi: 9} {
		if got := len(appendFloat(nil, v)); got != want {
			t.Errorf("%v encodes in %d bytes, want %d", v, got, want)
		}
	}
}

// TestDecodedLabelsDoNotAliasRecord: labels survive the record's reuse.
func TestDecodedLabelsDoNotAliasRecord(t *testing.T) {
	ls := labels.FromStrings("__name__", "up", "job", "node")
	rec := AppendSeriesRecord(nil, []RefSeries{{Ref: 3, Labels: ls}})
	got, err := DecodeSeriesRecord(rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := DecodeExemplarsRecord(AppendExemplarsRecord(nil, []RefExemplar{{Ref: 3, Labels: ls}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rec {
		rec[i] = 'X'
	}
	if !labels.Equal(got[0].Labels, ls) || !labels.Equal(ex[0].Labels, ls) {
		t.Fatalf("decoded labels changed with the record: %v", got[0].Labels)
	}
}

func TestCodecAllocations(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	series, samples, hs, fhs := genSeries(r, 50), genSamples(r, 500), genHistogramSamples(r, 20), genFloatHistogramSamples(r, 20)
	ex, md := genExemplars(r, 50), genMetadata(r, 50)
	buf := make([]byte, 0, 1<<20)
	encoders := map[string]func(){
		"series":          func() { buf = AppendSeriesRecord(buf[:0], series) },
		"samples":         func() { buf = AppendSamplesRecord(buf[:0], samples) },
		"histograms":      func() { buf = AppendHistogramsRecord(buf[:0], hs) },
		"floathistograms": func() { buf = AppendFloatHistogramsRecord(buf[:0], fhs) },
		"exemplars":       func() { buf = AppendExemplarsRecord(buf[:0], ex) },
		"metadata":        func() { buf = AppendMetadataRecord(buf[:0], md) },
	}
	for name, enc := range encoders {
		if a := testing.AllocsPerRun(20, enc); a != 0 {
			t.Errorf("encode %s: %v allocs, want 0", name, a)
		}
	}
	rec := AppendSamplesRecord(nil, samples)
	dst := make([]RefSample, 0, len(samples))
	if a := testing.AllocsPerRun(20, func() {
		var err error
		if dst, err = DecodeSamplesRecord(rec, dst[:0]); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("decode samples: %v allocs, want 0", a)
	}
}
