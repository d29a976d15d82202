package wal

import "encoding/binary"

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
func DecodeSamplesRecord(rec []byte, dst []RefSample) ([]RefSample, error) {
	d := decoder{b: rec}
	d.header(RecordSamples)
	n := d.count(3)
	dst = growSlice(dst, n)
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
