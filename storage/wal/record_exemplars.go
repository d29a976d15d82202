package wal

import (
	"encoding/binary"

	"github.com/prometheus/prometheus/model/labels"
)

// AppendExemplarsRecord appends an exemplars record holding s to dst.
//
//	type(1) count(uvarint) { refDelta(varint) tDelta(varint) value(tagged float) labels }*
func AppendExemplarsRecord(dst []byte, s []RefExemplar) []byte {
	dst = append(dst, byte(RecordExemplars))
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	var prevRef SeriesRef
	var prevT int64
	for i := range s {
		dst = binary.AppendUvarint(dst, zigzag(int64(s[i].Ref-prevRef)))
		dst = binary.AppendUvarint(dst, zigzag(s[i].T-prevT))
		dst = appendFloat(dst, s[i].V)
		dst = appendLabels(dst, s[i].Labels)
		prevRef, prevT = s[i].Ref, s[i].T
	}
	return dst
}

// DecodeExemplarsRecord appends the exemplars of rec to dst. The labels are
// copies: they stay valid after rec is reused.
func DecodeExemplarsRecord(rec []byte, dst []RefExemplar) ([]RefExemplar, error) {
	d := decoder{b: rec}
	d.header(RecordExemplars)
	n := d.count(4)
	dst = growSlice(dst, n)
	var b labels.ScratchBuilder
	var prevRef SeriesRef
	var prevT int64
	for i := 0; i < n && d.err == nil; i++ {
		ref := prevRef + SeriesRef(d.varint())
		t := prevT + d.varint()
		v := d.float()
		ls := d.labels(&b)
		if d.err == nil {
			dst = append(dst, RefExemplar{Ref: ref, T: t, V: v, Labels: ls})
		}
		prevRef, prevT = ref, t
	}
	return dst, d.end(RecordExemplars)
}
