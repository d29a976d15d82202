package chunkenc

import (
	"encoding/binary"
	"math"
)

// Layout bytes; FORMAT.md describes each.
const (
	tsDelta   byte = 0 // frame-of-reference packed deltas
	tsDoD     byte = 1 // frame-of-reference packed delta-of-deltas
	tsGrid    byte = 2 // frame-of-reference packed offsets from a regular grid
	tsSeconds byte = 3 // a regular interval of whole seconds

	// maxSecondsStep keeps a tsSeconds step's milliseconds in an int64.
	maxSecondsStep = math.MaxInt64 / 1000

	valConst        byte = 0 // one raw value
	valDecimal      byte = 1 // d/10^e, d packed directly
	valDecimalDelta byte = 2 // d/10^e, deltas of d packed
	valXOR          byte = 3 // Gorilla XOR bit stream
	valSplit        byte = 4 // dictionary of high bits + packed low bits
	valDecimalLine  byte = 5 // d/10^e, residuals of d from a line packed
	valBinary       byte = 6 // d*2^e, d packed directly
	valBinaryDelta  byte = 7 // d*2^e, deltas of d packed
	valBinaryLine   byte = 8 // d*2^e, residuals of d from a line packed
	valConstDecimal byte = 9 // one value d/10^e

	// The lanes of a scaled-integer layout.
	laneDirect = 0
	laneDelta  = 1
	laneLine   = 2

	// minBinaryExp and maxBinaryExp bound a binary layout's exponent: 2^e
	// is then a float64 (subnormal below -1022), and the product
	// float64(d) * 2^e exact whenever it is representable.
	minBinaryExp = -1074
	maxBinaryExp = 1023

	// maxExp bounds the decimal exponent; 10^18 is exact in a float64 and
	// integers d stay below 2^52, so every step of the arithmetic is exact
	// except the final, correctly rounded division.
	maxExp = 18

	// MaxSamples is the most samples a chunk holds (its count is a uint16).
	MaxSamples = math.MaxUint16

	headerSize = 2
)

// intLayouts is the layout byte of a decimal ([0]) or binary ([1]) layout
// by its lanes.
var intLayouts = [2][3]byte{
	{valDecimal, valDecimalDelta, valDecimalLine},
	{valBinary, valBinaryDelta, valBinaryLine},
}

var pow10 = func() (p [maxExp + 1]float64) {
	p[0] = 1
	for i := 1; i <= maxExp; i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// decimalValue is the one formula both encoder and decoder use, so a value
// the encoder accepts decodes to the same bits.
func decimalValue(d int64, p float64) float64 { return float64(d) / p }

// binaryValue is binary layouts' formula, shared likewise; scale is 2^e.
func binaryValue(d int64, scale float64) float64 { return float64(d) * scale }

func varintLen(v int64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutVarint(buf[:], v)
}
