package wal

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
)

// AppendHistogramsRecord appends an integer native histograms record holding
// s to dst. A nil histogram is written as an empty one.
//
//	type(1) count(uvarint) { refDelta(varint) tDelta(varint) histogram }*
//	histogram = hint(1) schema(varint) zeroThreshold(tagged float)
//	            zeroCount(uvarint) count(uvarint) sum(tagged float)
//	            posSpans negSpans posBuckets(n, varint each) negBuckets customValues(n, tagged float each)
//	spans     = n(uvarint) { offset(varint) length(uvarint) }*
func AppendHistogramsRecord(dst []byte, s []RefHistogramSample) []byte {
	dst = append(dst, byte(RecordHistograms))
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	var prevRef SeriesRef
	var prevT int64
	var empty histogram.Histogram
	for i := range s {
		dst = binary.AppendUvarint(dst, zigzag(int64(s[i].Ref-prevRef)))
		dst = binary.AppendUvarint(dst, zigzag(s[i].T-prevT))
		prevRef, prevT = s[i].Ref, s[i].T
		h := s[i].H
		if h == nil {
			h = &empty
		}
		dst = append(dst, byte(h.CounterResetHint))
		dst = binary.AppendUvarint(dst, zigzag(int64(h.Schema)))
		dst = appendFloat(dst, h.ZeroThreshold)
		dst = binary.AppendUvarint(dst, h.ZeroCount)
		dst = binary.AppendUvarint(dst, h.Count)
		dst = appendFloat(dst, h.Sum)
		dst = appendSpans(dst, h.PositiveSpans)
		dst = appendSpans(dst, h.NegativeSpans)
		dst = appendIntBuckets(dst, h.PositiveBuckets)
		dst = appendIntBuckets(dst, h.NegativeBuckets)
		dst = appendFloats(dst, h.CustomValues)
	}
	return dst
}

// DecodeHistogramsRecord appends the histogram samples of rec to dst. Every
// histogram is newly allocated.
func DecodeHistogramsRecord(rec []byte, dst []RefHistogramSample) ([]RefHistogramSample, error) {
	d := decoder{b: rec}
	d.header(RecordHistograms)
	n := d.count(13)
	dst = growSlice(dst, n)
	var prevRef SeriesRef
	var prevT int64
	for i := 0; i < n && d.err == nil; i++ {
		ref := prevRef + SeriesRef(d.varint())
		t := prevT + d.varint()
		prevRef, prevT = ref, t
		h := &histogram.Histogram{}
		h.CounterResetHint = histogram.CounterResetHint(d.byte())
		h.Schema = d.int32()
		h.ZeroThreshold = d.float()
		h.ZeroCount = d.uvarint()
		h.Count = d.uvarint()
		h.Sum = d.float()
		h.PositiveSpans = d.spans()
		h.NegativeSpans = d.spans()
		h.PositiveBuckets = d.intBuckets()
		h.NegativeBuckets = d.intBuckets()
		h.CustomValues = d.floats()
		if d.err == nil {
			dst = append(dst, RefHistogramSample{Ref: ref, T: t, H: h})
		}
	}
	return dst, d.end(RecordHistograms)
}

// AppendFloatHistogramsRecord appends a float native histograms record
// holding s to dst. It is laid out as the integer one, with every count and
// bucket a tagged float (absolute, not delta).
func AppendFloatHistogramsRecord(dst []byte, s []RefFloatHistogramSample) []byte {
	dst = append(dst, byte(RecordFloatHistograms))
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	var prevRef SeriesRef
	var prevT int64
	var empty histogram.FloatHistogram
	for i := range s {
		dst = binary.AppendUvarint(dst, zigzag(int64(s[i].Ref-prevRef)))
		dst = binary.AppendUvarint(dst, zigzag(s[i].T-prevT))
		prevRef, prevT = s[i].Ref, s[i].T
		h := s[i].FH
		if h == nil {
			h = &empty
		}
		dst = append(dst, byte(h.CounterResetHint))
		dst = binary.AppendUvarint(dst, zigzag(int64(h.Schema)))
		dst = appendFloat(dst, h.ZeroThreshold)
		dst = appendFloat(dst, h.ZeroCount)
		dst = appendFloat(dst, h.Count)
		dst = appendFloat(dst, h.Sum)
		dst = appendSpans(dst, h.PositiveSpans)
		dst = appendSpans(dst, h.NegativeSpans)
		dst = appendFloats(dst, h.PositiveBuckets)
		dst = appendFloats(dst, h.NegativeBuckets)
		dst = appendFloats(dst, h.CustomValues)
	}
	return dst
}

// DecodeFloatHistogramsRecord appends the float histogram samples of rec to
// dst. Every histogram is newly allocated.
func DecodeFloatHistogramsRecord(rec []byte, dst []RefFloatHistogramSample) ([]RefFloatHistogramSample, error) {
	d := decoder{b: rec}
	d.header(RecordFloatHistograms)
	n := d.count(13)
	dst = growSlice(dst, n)
	var prevRef SeriesRef
	var prevT int64
	for i := 0; i < n && d.err == nil; i++ {
		ref := prevRef + SeriesRef(d.varint())
		t := prevT + d.varint()
		prevRef, prevT = ref, t
		h := &histogram.FloatHistogram{}
		h.CounterResetHint = histogram.CounterResetHint(d.byte())
		h.Schema = d.int32()
		h.ZeroThreshold = d.float()
		h.ZeroCount = d.float()
		h.Count = d.float()
		h.Sum = d.float()
		h.PositiveSpans = d.spans()
		h.NegativeSpans = d.spans()
		h.PositiveBuckets = d.floats()
		h.NegativeBuckets = d.floats()
		h.CustomValues = d.floats()
		if d.err == nil {
			dst = append(dst, RefFloatHistogramSample{Ref: ref, T: t, FH: h})
		}
	}
	return dst, d.end(RecordFloatHistograms)
}

func appendSpans(dst []byte, spans []histogram.Span) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(spans)))
	for _, s := range spans {
		dst = binary.AppendUvarint(dst, zigzag(int64(s.Offset)))
		dst = binary.AppendUvarint(dst, uint64(s.Length))
	}
	return dst
}

func appendIntBuckets(dst []byte, b []int64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	for _, v := range b {
		dst = binary.AppendUvarint(dst, zigzag(v))
	}
	return dst
}

func appendFloats(dst []byte, f []float64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(f)))
	for _, v := range f {
		dst = appendFloat(dst, v)
	}
	return dst
}

func (d *decoder) int32() int32 {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail(fmt.Errorf("value %d overflows int32", v))
		return 0
	}
	return int32(v)
}

func (d *decoder) spans() []histogram.Span {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	spans := make([]histogram.Span, n)
	for i := range spans {
		spans[i].Offset = d.int32()
		l := d.uvarint()
		if l > math.MaxUint32 {
			d.fail(fmt.Errorf("span length %d overflows uint32", l))
		}
		spans[i].Length = uint32(l)
	}
	return spans
}

func (d *decoder) intBuckets() []int64 {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	b := make([]int64, n)
	for i := range b {
		b[i] = d.varint()
	}
	return b
}

func (d *decoder) floats() []float64 {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	f := make([]float64, n)
	for i := range f {
		f[i] = d.float()
	}
	return f
}
