package wal

import (
	"encoding/binary"

	"github.com/prometheus/prometheus/model/labels"
)

// AppendSeriesRecord appends a series record holding s to dst.
//
//	type(1) count(uvarint) { refDelta(varint) labels }*
//	labels = n(uvarint) { len(uvarint) name len(uvarint) value }*
func AppendSeriesRecord(dst []byte, s []RefSeries) []byte {
	dst = append(dst, byte(RecordSeries))
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	var prev SeriesRef
	for i := range s {
		dst = binary.AppendUvarint(dst, zigzag(int64(s[i].Ref-prev)))
		prev = s[i].Ref
		dst = appendLabels(dst, s[i].Labels)
	}
	return dst
}

// DecodeSeriesRecord appends the series of rec to dst. The labels are copies:
// they stay valid after rec is reused.
func DecodeSeriesRecord(rec []byte, dst []RefSeries) ([]RefSeries, error) {
	d := decoder{b: rec}
	d.header(RecordSeries)
	n := d.count(2)
	dst = growSlice(dst, n)
	var b labels.ScratchBuilder
	var prev SeriesRef
	for i := 0; i < n && d.err == nil; i++ {
		ref := prev + SeriesRef(d.varint())
		prev = ref
		ls := d.labels(&b)
		if d.err == nil {
			dst = append(dst, RefSeries{Ref: ref, Labels: ls})
		}
	}
	return dst, d.end(RecordSeries)
}

func appendLabels(dst []byte, ls labels.Labels) []byte {
	dst = binary.AppendUvarint(dst, uint64(ls.Len()))
	ls.Range(func(l labels.Label) {
		dst = appendString(dst, l.Name)
		dst = appendString(dst, l.Value)
	})
	return dst
}

func (d *decoder) labels(b *labels.ScratchBuilder) labels.Labels {
	n := d.count(2)
	b.Reset()
	for i := 0; i < n && d.err == nil; i++ {
		name := d.bytes()
		value := d.bytes()
		addLabel(b, name, value)
	}
	if d.err != nil {
		return labels.EmptyLabels()
	}
	return b.Labels()
}

// growSlice makes room for n more elements without changing len.
func growSlice[T any](s []T, n int) []T {
	if cap(s)-len(s) < n {
		ns := make([]T, len(s), len(s)+n)
		copy(ns, s)
		return ns
	}
	return s
}
