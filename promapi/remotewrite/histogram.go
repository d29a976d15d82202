package remotewrite

import (
	"github.com/prometheus/prometheus/model/histogram"
	"google.golang.org/protobuf/encoding/protowire"
)

// span is a half-open index range into one of the flat slices of histBufs.
type span struct{ lo, hi int32 }

// Kinds of a protobuf oneof holding an integer or a float count.
const (
	kindUnset uint8 = iota
	kindInt
	kindFloat
)

// rawHistogram is a decoded Histogram message (1.0 and 2.0 share the layout;
// start_timestamp only exists in 2.0). Its repeated fields are ranges into
// the decoder's histBufs.
type rawHistogram struct {
	countInt, zeroCountInt        uint64
	countFloat, zeroCountFloat    float64
	countKind, zeroKind           uint8
	sum, zeroThreshold            float64
	schema, resetHint             int32
	timestamp, startTimestamp     int64
	negSpans, posSpans            span
	negDeltas, posDeltas          span
	negCounts, posCounts, customs span
}

// histBufs holds the repeated fields of every histogram of a request. Each
// field has its own slice so that one histogram's values stay contiguous even
// when the message interleaves fields.
type histBufs struct {
	negSpans, posSpans            []histogram.Span
	negDeltas, posDeltas          []int64
	negCounts, posCounts, customs []float64
}

func (b *histBufs) reset() {
	b.negSpans, b.posSpans = b.negSpans[:0], b.posSpans[:0]
	b.negDeltas, b.posDeltas = b.negDeltas[:0], b.posDeltas[:0]
	b.negCounts, b.posCounts, b.customs = b.negCounts[:0], b.posCounts[:0], b.customs[:0]
}

// isFloat reports whether the count oneof holds a float, like
// writev2.Histogram.IsFloatHistogram.
func (h *rawHistogram) isFloat() bool { return h.countKind == kindFloat }

// decodeHistogram decodes a Histogram message b into h, appending its
// repeated fields to bufs. withST enables field 17 (2.0's start_timestamp).
func decodeHistogram(b []byte, h *rawHistogram, bufs *histBufs, withST bool) error {
	*h = rawHistogram{}
	h.negSpans.lo, h.posSpans.lo = int32(len(bufs.negSpans)), int32(len(bufs.posSpans))
	h.negDeltas.lo, h.posDeltas.lo = int32(len(bufs.negDeltas)), int32(len(bufs.posDeltas))
	h.negCounts.lo, h.posCounts.lo = int32(len(bufs.negCounts)), int32(len(bufs.posCounts))
	h.customs.lo = int32(len(bufs.customs))
	i := 0
	for i < len(b) {
		pre := i
		num, typ, n, err := tag(b, i)
		if err != nil {
			return err
		}
		i = n
		var v uint64
		switch num {
		case 1, 6, 4, 14, 15:
			if typ != protowire.VarintType {
				return errWireType
			}
			if v, i, err = varint(b, i); err != nil {
				return err
			}
			switch num {
			case 1:
				h.countInt, h.countFloat, h.countKind = v, 0, kindInt
			case 6:
				h.zeroCountInt, h.zeroCountFloat, h.zeroKind = v, 0, kindInt
			case 4:
				h.schema = zigzag32(v)
			case 14:
				h.resetHint = int32(v)
			case 15:
				h.timestamp = int64(v)
			}
		case 17:
			if !withST {
				if i, err = skip(b, pre); err != nil {
					return err
				}
				continue
			}
			if typ != protowire.VarintType {
				return errWireType
			}
			if v, i, err = varint(b, i); err != nil {
				return err
			}
			h.startTimestamp = int64(v)
		case 2, 3, 5, 7:
			if typ != protowire.Fixed64Type {
				return errWireType
			}
			var f float64
			if f, i, err = double(b, i); err != nil {
				return err
			}
			switch num {
			case 2:
				h.countFloat, h.countInt, h.countKind = f, 0, kindFloat
			case 3:
				h.sum = f
			case 5:
				h.zeroThreshold = f
			case 7:
				h.zeroCountFloat, h.zeroCountInt, h.zeroKind = f, 0, kindFloat
			}
		case 8, 11:
			if typ != protowire.BytesType {
				return errWireType
			}
			start, end, err := length(b, i)
			if err != nil {
				return err
			}
			s, err := decodeSpan(b[start:end])
			if err != nil {
				return err
			}
			if num == 8 {
				bufs.negSpans = append(bufs.negSpans, s)
			} else {
				bufs.posSpans = append(bufs.posSpans, s)
			}
			i = end
		case 9:
			if bufs.negDeltas, i, err = packedSint64s(b, i, typ, bufs.negDeltas); err != nil {
				return err
			}
		case 12:
			if bufs.posDeltas, i, err = packedSint64s(b, i, typ, bufs.posDeltas); err != nil {
				return err
			}
		case 10:
			if bufs.negCounts, i, err = packedDoubles(b, i, typ, bufs.negCounts); err != nil {
				return err
			}
		case 13:
			if bufs.posCounts, i, err = packedDoubles(b, i, typ, bufs.posCounts); err != nil {
				return err
			}
		case 16:
			if bufs.customs, i, err = packedDoubles(b, i, typ, bufs.customs); err != nil {
				return err
			}
		default:
			if i, err = skip(b, pre); err != nil {
				return err
			}
		}
	}
	h.negSpans.hi, h.posSpans.hi = int32(len(bufs.negSpans)), int32(len(bufs.posSpans))
	h.negDeltas.hi, h.posDeltas.hi = int32(len(bufs.negDeltas)), int32(len(bufs.posDeltas))
	h.negCounts.hi, h.posCounts.hi = int32(len(bufs.negCounts)), int32(len(bufs.posCounts))
	h.customs.hi = int32(len(bufs.customs))
	return nil
}

func decodeSpan(b []byte) (histogram.Span, error) {
	var s histogram.Span
	i := 0
	for i < len(b) {
		pre := i
		num, typ, n, err := tag(b, i)
		if err != nil {
			return s, err
		}
		i = n
		switch num {
		case 1, 2:
			if typ != protowire.VarintType {
				return s, errWireType
			}
			var v uint64
			if v, i, err = varint(b, i); err != nil {
				return s, err
			}
			if num == 1 {
				s.Offset = zigzag32(v)
			} else {
				s.Length = uint32(v)
			}
		default:
			if i, err = skip(b, pre); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// toInt returns the integer histogram, like writev2.Histogram.ToIntHistogram.
// Its slices are fresh copies: the storage may keep the histogram.
func (h *rawHistogram) toInt(bufs *histBufs) *histogram.Histogram {
	out := &histogram.Histogram{
		CounterResetHint: histogram.CounterResetHint(h.resetHint),
		Schema:           h.schema,
		ZeroThreshold:    h.zeroThreshold,
		Sum:              h.sum,
	}
	if h.countKind == kindInt {
		out.Count = h.countInt
	}
	if h.zeroKind == kindInt {
		out.ZeroCount = h.zeroCountInt
	}
	out.PositiveSpans, out.NegativeSpans = copySpans(bufs.posSpans[h.posSpans.lo:h.posSpans.hi], bufs.negSpans[h.negSpans.lo:h.negSpans.hi])
	pd, nd := bufs.posDeltas[h.posDeltas.lo:h.posDeltas.hi], bufs.negDeltas[h.negDeltas.lo:h.negDeltas.hi]
	if len(pd)+len(nd) > 0 {
		all := make([]int64, len(pd)+len(nd))
		copy(all, pd)
		copy(all[len(pd):], nd)
		if len(pd) > 0 {
			out.PositiveBuckets = all[:len(pd):len(pd)]
		}
		if len(nd) > 0 {
			out.NegativeBuckets = all[len(pd):]
		}
	}
	out.CustomValues = copyFloats(bufs.customs[h.customs.lo:h.customs.hi])
	return out
}

// toFloat returns the float histogram of a histogram whose count is a float,
// like writev2.Histogram.ToFloatHistogram.
func (h *rawHistogram) toFloat(bufs *histBufs) *histogram.FloatHistogram {
	out := &histogram.FloatHistogram{
		CounterResetHint: histogram.CounterResetHint(h.resetHint),
		Schema:           h.schema,
		ZeroThreshold:    h.zeroThreshold,
		Sum:              h.sum,
	}
	if h.countKind == kindFloat {
		out.Count = h.countFloat
	}
	if h.zeroKind == kindFloat {
		out.ZeroCount = h.zeroCountFloat
	}
	out.PositiveSpans, out.NegativeSpans = copySpans(bufs.posSpans[h.posSpans.lo:h.posSpans.hi], bufs.negSpans[h.negSpans.lo:h.negSpans.hi])
	pc, nc := bufs.posCounts[h.posCounts.lo:h.posCounts.hi], bufs.negCounts[h.negCounts.lo:h.negCounts.hi]
	cv := bufs.customs[h.customs.lo:h.customs.hi]
	if n := len(pc) + len(nc) + len(cv); n > 0 {
		all := make([]float64, n)
		copy(all, pc)
		copy(all[len(pc):], nc)
		copy(all[len(pc)+len(nc):], cv)
		if len(pc) > 0 {
			out.PositiveBuckets = all[:len(pc):len(pc)]
		}
		if len(nc) > 0 {
			out.NegativeBuckets = all[len(pc) : len(pc)+len(nc) : len(pc)+len(nc)]
		}
		if len(cv) > 0 {
			out.CustomValues = all[len(pc)+len(nc):]
		}
	}
	return out
}

// copySpans copies both span lists into one allocation. Like upstream, the
// results are non-nil (possibly empty).
func copySpans(pos, neg []histogram.Span) (p, n []histogram.Span) {
	all := make([]histogram.Span, len(pos)+len(neg))
	copy(all, pos)
	copy(all[len(pos):], neg)
	return all[:len(pos):len(pos)], all[len(pos):]
}

func copyFloats(f []float64) []float64 {
	if len(f) == 0 {
		return nil
	}
	return append([]float64(nil), f...)
}
