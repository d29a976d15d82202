package chunkenc

// kernelSet holds the bulk decode loops. The pure-Go twins are the default;
// a build with a vector kernel swaps them in at init when the CPU has it.
type kernelSet struct {
	name string
	// unpack writes len(dst) packed w-bit values of src plus base.
	unpack func(dst []uint64, src []byte, w uint, base uint64)
	// decimals converts integers to values, as decimalValue does.
	decimals func(vs []float64, d []uint64, p float64)
	// prefixDecimals converts running sums of deltas to values.
	prefixDecimals func(vs []float64, d []uint64, first int64, p float64)
	// split joins dictionary high bits and packed low bits.
	split func(vs []float64, idx []uint64, dict *[maxSplitDict]uint64, rights []byte, p uint)
}

var goKernels = kernelSet{name: "go", unpack: unpackGo, decimals: decimalsGo, prefixDecimals: prefixDecimalsGo, split: splitGo}

// kernels is the set in use.
var kernels = goKernels

// kernelSets lists every set this build has that the CPU runs; tests
// compare each against goKernels bit for bit.
var kernelSets = []kernelSet{goKernels}

// Kernels names the decode kernels in use ("go" for the pure-Go twins).
func Kernels() string { return kernels.name }
