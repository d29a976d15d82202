package chunkenc

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// Chunks in the shape FORMAT.md draws, byte for byte.
func TestFormatExamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		ts   []int64
		vs   []float64
		want []byte
	}{
		{"empty", nil, nil, []byte{0x00, 0x00}},
		{
			// A constant short decimal: e=0, d=2.
			"one sample", []int64{1000}, []float64{2},
			[]byte{0x00, 0x01, 0xd0, 0x0f, valConstDecimal, 0, 0x04},
		},
		{
			// Pi's 16 digits take more than its 8 raw bytes.
			"raw constant", []int64{1000, 2000}, []float64{math.Pi, math.Pi},
			[]byte{0x00, 0x02, 0xd0, 0x0f, tsSeconds, 0x01, valConst, 0x18, 0x2d, 0x44, 0x54, 0xfb, 0x21, 0x09, 0x40},
		},
		{
			// Regular 15 s steps; values 1,2,3 as d-1 in 2 bits.
			"small counter", []int64{1000, 16000, 31000}, []float64{1, 2, 3},
			[]byte{
				0x00, 0x03, // count
				0xd0, 0x0f, // t0 = 1000 (zigzag varint)
				tsSeconds, 0x0f, // every step 15 s
				valDecimal, 0, 0x02, 0x02, 0b10_01_00, // e=0, base 1, width 2, [0 1 2]
				0x00, // no exceptions
			},
		},
		{
			// 0.25, 0.5 and 0.25 at e=2 are 25, 50 and 25; the stale marker
			// is an exception, its lane the previous d.
			"decimal with stale marker", []int64{0, 10, 20, 30}, []float64{0.25, 0.5, 0.25, math.Float64frombits(staleNaN)},
			[]byte{
				0x00, 0x04, 0x00,
				tsDelta, 0x14, 0x00, // base delta 10, width 0
				valDecimal, 2, 0x32, 0x05, 0x20, 0x03, 0x00, // e=2, base 25, width 5: [0 25 0 0] = 25<<5
				0x01, 0x03, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f, // one exception: gap 3, raw bits
			},
		},
		{
			// 10, 21, 30, 41, ...: the line 10 + 10i leaves residuals 0 and
			// 1, where deltas 11 and 9 would take 2 bits.
			"line", []int64{0, 10, 20, 30, 40, 50, 60, 70}, []float64{10, 21, 30, 41, 50, 61, 70, 81},
			[]byte{
				0x00, 0x08, 0x00,
				tsDelta, 0x14, 0x00,
				valDecimalLine, 0, 0x14, 0x14, 0x01, 0b10101010, // e=0, slope 10, base 10, width 1: [0 1 0 1 0 1 0 1]
				0x00,
			},
		},
		{
			// 3, 5, 4 and 7 times 2^-30: no short decimals, integers at
			// the binary exponent -30.
			"binary", []int64{0, 10, 20, 30}, []float64{3 * 0x1p-30, 5 * 0x1p-30, 4 * 0x1p-30, 7 * 0x1p-30},
			[]byte{
				0x00, 0x04, 0x00,
				tsDelta, 0x14, 0x00,
				valBinary, 0x3b, 0x06, 0x03, 0x50, 0x08, // e=-30, base 3, width 3: [0 2 1 4]
				0x00,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := appendChunk(nil, tc.ts, tc.vs)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got  % x\nwant % x", got, tc.want)
			}
			checkSamples(t, "decoded", newSealedMust(t, got).Iterator(nil), tc.ts, tc.vs)
		})
	}
}

// Every layout is reached by the data it is meant for.
func TestLayoutChoice(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		tsMode byte
		vMode  byte
	}{
		{"counter", tsGrid, valDecimalDelta},
		{"regular-counter", tsSeconds, valDecimalDelta},
		{"gauge2dec", tsGrid, valDecimalDelta},
		{"fullprec", tsGrid, valBinaryDelta},
		{"line-counter", tsSeconds, valDecimalLine},
		{"pages", tsGrid, valBinaryDelta},
		{"fixed-point", tsGrid, valBinary},
		{"constant", tsSeconds, valConstDecimal},
	} {
		ts, vs := kindByName(tc.kind).gen(newRand(9), 120)
		b := appendChunk(nil, ts, vs)
		r := reader{b: b, pos: headerSize}
		if _, err := r.varint(""); err != nil {
			t.Fatal(err)
		}
		tsMode := b[r.pos]
		r.pos = headerSize
		scratch := make([]uint64, 120)
		if err := r.timestamps(make([]int64, 120), scratch, nil); err != nil {
			t.Fatal(err)
		}
		if tsMode != tc.tsMode || b[r.pos] != tc.vMode {
			t.Errorf("%s: layouts %d/%d, want %d/%d", tc.kind, tsMode, b[r.pos], tc.tsMode, tc.vMode)
		}
	}
}

func TestCorruptErrors(t *testing.T) {
	ts, vs := kindByName("counter").gen(newRand(1), 50)
	good := appendChunk(nil, ts, vs)
	for name, b := range map[string][]byte{
		"short header":    {0x01},
		"truncated":       good[:len(good)-1],
		"trailing bytes":  append(append([]byte(nil), good...), 0),
		"bad layout":      {0x00, 0x02, 0x00, 0x09},
		"bad width":       {0x00, 0x02, 0x00, tsDelta, 0x00, 65},
		"binary exponent": {0x00, 0x02, 0x00, tsDelta, 0x14, 0x00, valBinary, 0xfe, 0x7f, 0x00, 0x00, 0x00},
		"line slope":      {0x00, 0x03, 0x00, tsDelta, 0x14, 0x00, valDecimalLine, 0x00, 0x80},
	} {
		c, err := FromData(EncFloat, b)
		if err == nil {
			it := c.Iterator(nil)
			for it.Next() != 0 {
			}
			err = it.Err()
		}
		var ce *CorruptError
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v, want ErrCorrupt", name, err)
		} else if errors.As(err, &ce) && ce.Offset > len(b) {
			t.Errorf("%s: offset %d beyond %d bytes", name, ce.Offset, len(b))
		}
	}
}
