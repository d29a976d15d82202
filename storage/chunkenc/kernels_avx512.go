//go:build goexperiment.simd && amd64

package chunkenc

import "simd/archsimd"

// AVX-512 kernels, built only with GOEXPERIMENT=simd and chosen at start
// when the CPU has AVX-512 (GODEBUG=cpu.avx512f=off forces the pure-Go
// twins). Each must give the same bits as its twin: the conversion
// (VCVTQQ2PD) and division (VDIVPD) round to nearest as Go's scalar
// float64(int64) and / do.

var avx512Kernels = kernelSet{
	name:           "avx512",
	unpack:         unpackGo,
	decimals:       decimalsAVX512,
	prefixDecimals: prefixDecimalsGo,
	split:          splitGo,
}

func init() {
	if !archsimd.X86.AVX512() {
		return
	}
	if archsimd.X86.AVX512VBMI() {
		avx512Kernels.name, avx512Kernels.unpack = "avx512+vbmi", unpackAVX512
		for w := 1; w <= 56; w++ {
			for j := range 8 {
				for k := range 8 {
					unpackPerm[w][8*j+k] = uint8(j*w>>3 + k)
				}
				unpackShift[w][j] = uint64(j * w & 7)
			}
		}
	}
	kernels = avx512Kernels
	kernelSets = append(kernelSets, avx512Kernels)
}

// Eight w-bit values take exactly w bytes, so lane j of every group of
// eight starts at the same byte (j*w/8) and bit (j*w%8) of its group:
// one byte permutation (VPERMB) gathers each lane's 8 bytes, a per-lane
// shift (VPSRLVQ) aligns them.
var (
	unpackPerm  [57][64]uint8
	unpackShift [57][8]uint64
)

// unpackAVX512 is unpackGo eight lanes at a time, for w in 1..56.
func unpackAVX512(dst []uint64, src []byte, w uint, base uint64) {
	if w == 0 || w > 56 {
		unpackGo(dst, src, w, base)
		return
	}
	perm := archsimd.LoadUint8x64(&unpackPerm[w])
	shift := archsimd.LoadUint64x8(&unpackShift[w])
	mask := archsimd.BroadcastUint64x8(lowMask(w))
	bv := archsimd.BroadcastUint64x8(base)
	n := len(dst)
	i, off := 0, 0
	for ; i+8 <= n; i, off = i+8, off+int(w) {
		var b archsimd.Uint8x64
		if off+64 <= len(src) {
			b = archsimd.LoadUint8x64Slice(src[off : off+64])
		} else {
			b = archsimd.LoadUint8x64SlicePart(src[off:])
		}
		b.Permute(perm).AsUint64x8().ShiftRight(shift).And(mask).Add(bv).StoreSlice(dst[i : i+8])
	}
	archsimd.ClearAVXUpperBits()
	unpackGo(dst[i:], src[off:], w, base)
}

// decimalsAVX512 is decimalsGo eight lanes at a time.
func decimalsAVX512(vs []float64, d []uint64, p float64) {
	n := len(vs)
	d = d[:n]
	i := 0
	if p == 1 {
		for ; i+8 <= n; i += 8 {
			archsimd.LoadUint64x8Slice(d[i : i+8]).AsInt64x8().ConvertToFloat64().StoreSlice(vs[i : i+8])
		}
	} else {
		pv := archsimd.BroadcastFloat64x8(p)
		for ; i+8 <= n; i += 8 {
			x := archsimd.LoadUint64x8Slice(d[i : i+8]).AsInt64x8().ConvertToFloat64()
			x.Div(pv).StoreSlice(vs[i : i+8])
		}
	}
	archsimd.ClearAVXUpperBits()
	decimalsGo(vs[i:], d[i:], p)
}
