package wal

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// Every decoder is fuzzed with the same property: whatever it accepts
// re-encodes to a record that decodes to the same entries (floats compared
// bit for bit) and whose encoding is stable. The seed corpus (random records
// of every size plus mutations) runs in plain `go test`.

func addRecordSeeds[T any](f *testing.F, gen func(*rand.Rand, int) []T, enc func([]byte, []T) []byte) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 2, 5, 20} {
		rec := enc(nil, gen(r, n))
		f.Add(rec)
		if len(rec) > 2 {
			m := bytes.Clone(rec)
			m[r.IntN(len(m)-1)+1] ^= byte(1 + r.IntN(255))
			f.Add(m)
			f.Add(rec[:len(rec)/2])
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
}

func fuzzRoundTrip[T any](t *testing.T, data []byte, enc func([]byte, []T) []byte,
	dec func([]byte, []T) ([]T, error), diff func(a, b []T) error) {
	got, err := dec(data, nil)
	if err != nil {
		return
	}
	rec := enc(nil, got)
	again, err := dec(rec, nil)
	if err != nil {
		t.Fatalf("re-encoded record does not decode: %v", err)
	}
	if err := diff(got, again); err != nil {
		t.Fatalf("round trip changed the entries: %v", err)
	}
	if rec2 := enc(nil, again); !bytes.Equal(rec, rec2) {
		t.Fatalf("encoding is not stable:\n% x\n% x", rec, rec2)
	}
}

func FuzzDecodeSeriesRecord(f *testing.F) {
	addRecordSeeds(f, genSeries, AppendSeriesRecord)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, AppendSeriesRecord, DecodeSeriesRecord, diffSeries)
	})
}

func FuzzDecodeSamplesRecord(f *testing.F) {
	addRecordSeeds(f, genSamples, AppendSamplesRecord)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, AppendSamplesRecord, DecodeSamplesRecord, diffSamples)
	})
}

func FuzzDecodeHistogramsRecord(f *testing.F) {
	addRecordSeeds(f, genHistogramSamples, AppendHistogramsRecord)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, AppendHistogramsRecord, DecodeHistogramsRecord, diffHistogramSamples)
	})
}

func FuzzDecodeFloatHistogramsRecord(f *testing.F) {
	addRecordSeeds(f, genFloatHistogramSamples, AppendFloatHistogramsRecord)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, AppendFloatHistogramsRecord, DecodeFloatHistogramsRecord, diffFloatHistogramSamples)
	})
}

func FuzzDecodeExemplarsRecord(f *testing.F) {
	addRecordSeeds(f, genExemplars, AppendExemplarsRecord)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, AppendExemplarsRecord, DecodeExemplarsRecord, diffExemplars)
	})
}

func FuzzDecodeMetadataRecord(f *testing.F) {
	addRecordSeeds(f, genMetadata, AppendMetadataRecord)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, AppendMetadataRecord, DecodeMetadataRecord, diffMetadata)
	})
}

// decodeSamplesGeneric is DecodeSamplesRecord without its one-byte fast
// paths: the reference the fast paths must agree with.
func decodeSamplesGeneric(rec []byte, dst []RefSample) ([]RefSample, error) {
	d := decoder{b: rec}
	d.header(RecordSamples)
	n := d.count(3)
	var prevRef SeriesRef
	var prevT int64
	for i := 0; i < n && d.err == nil; i++ {
		ref := prevRef + SeriesRef(d.varint())
		t := prevT + d.varint()
		v := d.float()
		if d.err == nil {
			dst = append(dst, RefSample{Ref: ref, T: t, V: v})
		}
		prevRef, prevT = ref, t
	}
	return dst, d.end(RecordSamples)
}

// FuzzSamplesDecodeMatchesGeneric: the fast decoder accepts exactly what the
// generic one accepts and yields the same samples, bit for bit.
func FuzzSamplesDecodeMatchesGeneric(f *testing.F) {
	addRecordSeeds(f, genSamples, AppendSamplesRecord)
	addRecordSeeds(f, realisticSamples, AppendSamplesRecord)
	// Small deltas with values whose tags take 1, 2 and 3 bytes, and the raw form.
	f.Add(AppendSamplesRecord(nil, []RefSample{{Ref: 1, T: 5, V: 100}, {Ref: 2, T: 5, V: -1.5}, {Ref: 3, T: 6, V: 2000}, {Ref: 4, T: 6, V: 12.34}, {Ref: 5, T: 7, V: 99999}, {Ref: 6, T: 7, V: -654.321}, {Ref: 7, T: 8, V: 0.1234567}}))
	f.Add(AppendSamplesRecord(nil, []RefSample{{Ref: 1, T: 5, V: 3}, {Ref: 2, T: 5, V: -7}, {Ref: 4, T: 6, V: 0}, {Ref: 3, T: 2, V: 31}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeSamplesRecord(data, nil)
		want, werr := decodeSamplesGeneric(data, nil)
		if (err == nil) != (werr == nil) {
			t.Fatalf("fast decoder error %v, generic %v", err, werr)
		}
		if err != nil {
			return
		}
		if e := diffSamples(got, want); e != nil {
			t.Fatalf("fast decoder differs from the generic one: %v", e)
		}
	})
}
