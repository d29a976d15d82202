package remotewrite

import (
	"encoding/binary"
	"errors"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The wire readers below accept exactly the inputs the gogo-generated
// Unmarshal methods of prompb and writev2 accept (checked by the fuzz tests).
// They differ from protowire.Consume* in a few corner cases that gogo
// tolerates: a 10th varint byte with more than one payload bit, a field
// number wider than 29 bits (gogo truncates it to int32), and groups whose
// end tag names another field. protowire supplies the wire-type constants and
// the zig-zag decoding.

var (
	errUnexpectedEOF = errors.New("remotewrite: unexpected EOF")
	errIntOverflow   = errors.New("remotewrite: integer overflow")
	errNegativeLen   = errors.New("remotewrite: negative length")
	errEndGroup      = errors.New("remotewrite: unexpected end of group")
	errIllegalTag    = errors.New("remotewrite: illegal tag")
	errWireType      = errors.New("remotewrite: wrong wire type")
)

// varint reads a base-128 varint at b[i:], like gogo: at most ten bytes, bits
// past the 64th dropped.
func varint(b []byte, i int) (uint64, int, error) {
	if i < len(b) && b[i] < 0x80 {
		return uint64(b[i]), i + 1, nil
	}
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			return 0, i, errIntOverflow
		}
		if i >= len(b) {
			return 0, i, errUnexpectedEOF
		}
		c := b[i]
		i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, i, nil
		}
	}
}

// tag reads a field key. It rejects what gogo rejects: an end-group wire type
// and a field number that is not positive once truncated to int32.
func tag(b []byte, i int) (num int32, typ protowire.Type, next int, err error) {
	var w uint64
	if i < len(b) && b[i] < 0x80 {
		w, next = uint64(b[i]), i+1
	} else if w, next, err = varint(b, i); err != nil {
		return 0, 0, next, err
	}
	num, typ = int32(w>>3), protowire.Type(w&7)
	if typ == protowire.EndGroupType || num <= 0 {
		return 0, 0, next, errIllegalTag
	}
	return num, typ, next, nil
}

// length reads a length prefix at b[i:] and returns the bounds of the value.
func length(b []byte, i int) (start, end int, err error) {
	n, i, err := varint(b, i)
	if err != nil {
		return 0, 0, err
	}
	ln := int(n)
	if ln < 0 {
		return 0, 0, errNegativeLen
	}
	end = i + ln
	if end < 0 {
		return 0, 0, errNegativeLen
	}
	if end > len(b) {
		return 0, 0, errUnexpectedEOF
	}
	return i, end, nil
}

// fixed64 reads a little-endian 64-bit value at b[i:].
func fixed64(b []byte, i int) (uint64, int, error) {
	if i+8 > len(b) || i+8 < 0 {
		return 0, i, errUnexpectedEOF
	}
	return binary.LittleEndian.Uint64(b[i:]), i + 8, nil
}

func double(b []byte, i int) (float64, int, error) {
	v, i, err := fixed64(b, i)
	return math.Float64frombits(v), i, err
}

// skip steps over the field whose key starts at b[start] (an unknown field),
// with gogo's skipTypes semantics, and returns the index after it.
func skip(b []byte, start int) (int, error) {
	d := b[start:]
	i, depth := 0, 0
	for i < len(d) {
		w, n, err := varint(d, i)
		if err != nil {
			return 0, err
		}
		i = n
		switch protowire.Type(w & 7) {
		case protowire.VarintType:
			for shift := uint(0); ; shift += 7 {
				if shift >= 64 {
					return 0, errIntOverflow
				}
				if i >= len(d) {
					return 0, errUnexpectedEOF
				}
				i++
				if d[i-1] < 0x80 {
					break
				}
			}
		case protowire.Fixed64Type:
			i += 8
		case protowire.BytesType:
			n, j, err := varint(d, i)
			if err != nil {
				return 0, err
			}
			ln := int(n)
			if ln < 0 {
				return 0, errNegativeLen
			}
			i = j + ln
		case protowire.StartGroupType:
			depth++
		case protowire.EndGroupType:
			if depth == 0 {
				return 0, errEndGroup
			}
			depth--
		case protowire.Fixed32Type:
			i += 4
		default:
			return 0, errWireType
		}
		if i < 0 {
			return 0, errNegativeLen
		}
		if depth == 0 {
			end := start + i
			if end < 0 {
				return 0, errNegativeLen
			}
			if end > len(b) {
				return 0, errUnexpectedEOF
			}
			return end, nil
		}
	}
	return 0, errUnexpectedEOF
}

// packedUint32s appends the values of a repeated uint32 field, packed (wire
// type 2) or not (wire type 0). Like gogo, a packed element may run past the
// packed length as long as it stays inside the message b.
func packedUint32s(b []byte, i int, typ protowire.Type, dst []uint32) ([]uint32, int, error) {
	switch typ {
	case protowire.VarintType:
		v, i, err := varint(b, i)
		if err != nil {
			return dst, i, err
		}
		return append(dst, uint32(v)), i, nil
	case protowire.BytesType:
		start, end, err := length(b, i)
		if err != nil {
			return dst, i, err
		}
		i = start
		for i < end {
			var v uint64
			if i < len(b) && b[i] < 0x80 {
				v, i = uint64(b[i]), i+1
			} else if v, i, err = varint(b, i); err != nil {
				return dst, i, err
			}
			dst = append(dst, uint32(v))
		}
		return dst, i, nil
	}
	return dst, i, errWireType
}

// packedSint64s is packedUint32s for repeated sint64 (zig-zag) fields.
func packedSint64s(b []byte, i int, typ protowire.Type, dst []int64) ([]int64, int, error) {
	switch typ {
	case protowire.VarintType:
		v, i, err := varint(b, i)
		if err != nil {
			return dst, i, err
		}
		return append(dst, zigzag64(v)), i, nil
	case protowire.BytesType:
		start, end, err := length(b, i)
		if err != nil {
			return dst, i, err
		}
		i = start
		for i < end {
			var v uint64
			if v, i, err = varint(b, i); err != nil {
				return dst, i, err
			}
			dst = append(dst, zigzag64(v))
		}
		return dst, i, nil
	}
	return dst, i, errWireType
}

// packedDoubles is packedVarints for repeated doubles (wire type 1 or 2).
func packedDoubles(b []byte, i int, typ protowire.Type, dst []float64) ([]float64, int, error) {
	switch typ {
	case protowire.Fixed64Type:
		v, i, err := double(b, i)
		if err != nil {
			return dst, i, err
		}
		return append(dst, v), i, nil
	case protowire.BytesType:
		start, end, err := length(b, i)
		if err != nil {
			return dst, i, err
		}
		i = start
		for i < end {
			var v float64
			if v, i, err = double(b, i); err != nil {
				return dst, i, err
			}
			dst = append(dst, v)
		}
		return dst, i, nil
	}
	return dst, i, errWireType
}

func zigzag32(v uint64) int32 {
	u := uint32(v)
	return int32((u >> 1) ^ uint32((int32(u&1)<<31)>>31))
}

func zigzag64(v uint64) int64 { return protowire.DecodeZigZag(v) }
