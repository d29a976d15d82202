package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Low-level helpers shared by the record codecs: zig-zag varints, the tagged
// float encoding and a decoder that remembers its first error.

// errShortRecord is returned when a record ends in the middle of a field.
var errShortRecord = errors.New("record truncated")

// appendFloat appends v in the tagged float encoding (see FORMAT.md), bit
// exact in every form:
//
//   - an integer i in (-2^53, 2^53), not -0: uvarint(zigzag(i) << 1);
//   - a decimal d / 10^e, e in 1..3, |d| < 2^53, that divides back to exactly
//     v: uvarint(zigzag(d) << 3 | e << 1 | 1);
//   - anything else: the byte 0x01 then the 8 IEEE-754 bytes, little endian.
func appendFloat(dst []byte, v float64) []byte {
	if i, ok := floatAsInt(v); ok {
		return binary.AppendUvarint(dst, zigzag(i)<<1)
	}
	if d, e, ok := floatAsDecimal(v); ok {
		return binary.AppendUvarint(dst, zigzag(d)<<3|uint64(e)<<1|1)
	}
	dst = append(dst, 0x01)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
}

const maxExactInt = 1 << 53

// pow10 are the decimal scales; decoding divides by exactly these values.
var pow10 = [4]float64{1, 10, 100, 1000}

func floatAsInt(v float64) (int64, bool) {
	if v <= -maxExactInt || v >= maxExactInt || v != v {
		return 0, false
	}
	i := int64(v)
	if float64(i) != v || (i == 0 && math.Signbit(v)) {
		return 0, false
	}
	return i, true
}

// floatAsDecimal finds the smallest scale e at which v is d/10^e exactly
// (bit for bit, as decoding computes it).
func floatAsDecimal(v float64) (int64, uint8, bool) {
	if !(v > -maxExactInt/1000 && v < maxExactInt/1000) || v == 0 {
		return 0, 0, false
	}
	// Cheap filter: a decimal with at most 3 places is within rounding error
	// of an integer once scaled by 1000; full-precision values are not.
	x := v * 1000
	if diff := x - float64(int64(x)); diff > 1e-6 && diff < 1-1e-6 || diff < -1e-6 && diff > -1+1e-6 {
		return 0, 0, false
	}
	bits := math.Float64bits(v)
	for e := uint8(1); e <= 3; e++ {
		s := v * pow10[e]
		d := int64(s + math.Copysign(0.5, s))
		if math.Float64bits(float64(d)/pow10[e]) == bits {
			return d, e, true
		}
	}
	return 0, 0, false
}

func zigzag(i int64) uint64   { return uint64(i<<1) ^ uint64(i>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// decoder reads the fields of one record. After the first error every read
// returns zero and err keeps that error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail(errShortRecord)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		if n == 0 {
			d.fail(errShortRecord)
		} else {
			d.fail(errors.New("varint overflows 64 bits"))
		}
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 { return unzigzag(d.uvarint()) }

func (d *decoder) uint64le() uint64 {
	if len(d.b) < 8 {
		d.fail(errShortRecord)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) float() float64 {
	tag := d.uvarint()
	switch {
	case tag&1 == 0:
		return float64(unzigzag(tag >> 1))
	case tag == 1:
		return math.Float64frombits(d.uint64le())
	default:
		e := (tag >> 1) & 3
		m := unzigzag(tag >> 3)
		if e == 0 || m <= -maxExactInt || m >= maxExactInt {
			d.fail(fmt.Errorf("invalid float tag %#x", tag))
			return 0
		}
		return float64(m) / pow10[e]
	}
}

// bytes returns a uvarint-length-prefixed byte string aliasing the record.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail(errShortRecord)
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

// count reads an element count and checks it against the bytes left, given
// that every element takes at least minSize bytes; this bounds allocations
// on hostile input.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)/minSize) {
		d.fail(fmt.Errorf("count %d exceeds the %d bytes left", n, len(d.b)))
		return 0
	}
	return int(n)
}

// header checks the record type byte.
func (d *decoder) header(want RecordType) {
	if t := d.byte(); d.err == nil && RecordType(t) != want {
		d.fail(fmt.Errorf("record type %d, want %s (%d)", t, want, want))
	}
}

// end reports the decoder's error, or an error if bytes are left over.
func (d *decoder) end(what RecordType) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("wal: decode %s record: %w", what, d.err)
	}
	return nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

var errUnknownMetricType = errors.New("unknown metric type byte")
