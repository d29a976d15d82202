package remotewrite

import (
	"math/rand/v2"
	"testing"
)

// Seeds: valid requests plus hand-made corner cases of the wire format that
// gogo and protowire treat differently.
var fuzzCorners = [][]byte{
	{},
	{0x00},                               // field 0
	{0x0c},                               // end group
	{0x0b, 0x0c},                         // empty group of field 1 (wrong wire type for it)
	{0x13, 0x1c},                         // group field 2, ended by field 3
	{0xfb, 0xff, 0xff, 0xff, 0x0f, 0x00}, // huge field number
	{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f},       // 10-byte varint key
	{0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01},                               // truncated nested
	{0x2a, 0x04, 0x0a, 0x02, 0x03, 0x80},                               // packed refs running past their length
	{0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, // huge length
	{0x15, 0x01, 0x02},       // short fixed32 unknown
	{0x1a, 0x02, 0x08, 0x09}, // metadata with type 9
}

func FuzzDecodeV1(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		b, err := randV1(rng).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range fuzzCorners {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkV1(t, b) })
}

func FuzzDecodeV2(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 20 {
		b, err := randV2(rng).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range fuzzCorners {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkV2(t, b) })
}
