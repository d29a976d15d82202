package wal

import (
	"encoding/binary"
	"math"
)

// AppendSamplesRecord appends a samples record holding s to dst. References
// and timestamps are deltas from the previous sample of the record, values use
// the tagged float encoding (an integer value costs its varint, any other
// value 9 bytes):
//
//	type(1) count(uvarint) { refDelta(varint) tDelta(varint) value(tagged float) }*
func AppendSamplesRecord(dst []byte, s []RefSample) []byte {
	dst = append(dst, byte(RecordSamples))
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	var prevRef SeriesRef
	var prevT int64
	for i := range s {
		dst = binary.AppendUvarint(dst, zigzag(int64(s[i].Ref-prevRef)))
		dst = binary.AppendUvarint(dst, zigzag(s[i].T-prevT))
		dst = appendFloat(dst, s[i].V)
		prevRef, prevT = s[i].Ref, s[i].T
	}
	return dst
}

// DecodeSamplesRecord appends the samples of rec to dst. It allocates only
// when dst lacks capacity.
//
// It is replay's hottest decoder, so one-byte deltas (the common case) and
// short values (shortFloat) are decoded inline; every other case goes to
// the general decoder, which reports errors.
func DecodeSamplesRecord(rec []byte, dst []RefSample) ([]RefSample, error) {
	d := decoder{b: rec}
	d.header(RecordSamples)
	n := d.count(3)
	dst = growSlice(dst, n)
	var prevRef SeriesRef
	var prevT int64
	for i := 0; i < n && d.err == nil; i++ {
		b := d.b
		var ref SeriesRef
		var t int64
		var v float64
		if len(b) >= 2 && b[0] < 0x80 && b[1] < 0x80 {
			ref = prevRef + SeriesRef(unzigzag(uint64(b[0])))
			t = prevT + unzigzag(uint64(b[1]))
			d.b = b[2:]
		} else {
			ref = prevRef + SeriesRef(d.varint())
			t = prevT + d.varint()
		}
		if x, k := shortFloat(d.b); k > 0 {
			v = x
			d.b = d.b[k:]
		} else if v = d.float(); d.err != nil {
			break
		}
		dst = append(dst, RefSample{Ref: ref, T: t, V: v})
		prevRef, prevT = ref, t
	}
	return dst, d.end(RecordSamples)
}

// shortFloat decodes the tagged float at the front of b when it is the raw
// form or has a tag of at most 3 bytes (integers below 2^20, decimals of
// up to about 6 digits: most samples), and reports the bytes it took; 0
// means "not handled here": the general decoder then takes it, errors
// included.
func shortFloat(b []byte) (float64, int) {
	var tag uint64
	var n int
	switch {
	case len(b) >= 9 && b[0] == 1:
		return math.Float64frombits(binary.LittleEndian.Uint64(b[1:9])), 9
	case len(b) >= 1 && b[0] < 0x80:
		tag, n = uint64(b[0]), 1
	case len(b) >= 2 && b[1] < 0x80:
		tag, n = uint64(b[0]&0x7f)|uint64(b[1])<<7, 2
	case len(b) >= 3 && b[2] < 0x80:
		tag, n = uint64(b[0]&0x7f)|uint64(b[1]&0x7f)<<7|uint64(b[2])<<14, 3
	default:
		return 0, 0
	}
	if tag&1 == 0 {
		return float64(unzigzag(tag >> 1)), n
	}
	e := (tag >> 1) & 3
	if e == 0 { // The raw form's tag without its 8 bytes, or invalid.
		return 0, 0
	}
	return float64(unzigzag(tag>>3)) / pow10[e], n
}
