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
//
// It is replay's hottest decoder, so it walks the record by index with the
// one-byte varint (the common small delta) inline, and leaves every other
// case to the general decoder, which reports errors.
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
		if len(b) >= 3 && b[0] < 0x80 && b[1] < 0x80 && b[2] < 0x80 && b[2]&1 == 0 {
			// Both deltas and an integer value fit one byte each.
			ref = prevRef + SeriesRef(unzigzag(uint64(b[0])))
			t = prevT + unzigzag(uint64(b[1]))
			v = float64(unzigzag(uint64(b[2]) >> 1))
			d.b = b[3:]
		} else {
			if len(b) >= 2 && b[0] < 0x80 && b[1] < 0x80 {
				ref = prevRef + SeriesRef(unzigzag(uint64(b[0])))
				t = prevT + unzigzag(uint64(b[1]))
				d.b = b[2:]
			} else {
				ref = prevRef + SeriesRef(d.varint())
				t = prevT + d.varint()
			}
			v = d.float()
			if d.err != nil {
				break
			}
		}
		dst = append(dst, RefSample{Ref: ref, T: t, V: v})
		prevRef, prevT = ref, t
	}
	return dst, d.end(RecordSamples)
}
