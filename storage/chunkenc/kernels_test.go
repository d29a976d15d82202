package chunkenc

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Every kernel set this build and CPU have must give goKernels' bits. Run
// it with GOEXPERIMENT=simd to cover the AVX-512 set, and with
// GODEBUG=cpu.avx512f=off to check that the twins are chosen.
func TestKernelsAgree(t *testing.T) {
	t.Logf("kernels in use: %s; sets: %d", Kernels(), len(kernelSets))
	r := rand.New(rand.NewPCG(11, 12))
	for _, ks := range kernelSets {
		for range 200 {
			n := r.IntN(300)
			d := make([]uint64, n)
			e := r.IntN(maxExp + 1)
			for i := range d {
				d[i] = uint64(r.Int64N(1<<52) - 1<<51)
			}
			want, got := make([]float64, n), make([]float64, n)
			decimalsGo(want, d, pow10[e])
			ks.decimals(got, d, pow10[e])
			sameBits(t, ks.name+" decimals", got, want)

			first := r.Int64N(1 << 40)
			for i := range d {
				d[i] = uint64(r.Int64N(1 << 20))
			}
			prefixDecimalsGo(want, d, first, pow10[e])
			ks.prefixDecimals(got, d, first, pow10[e])
			sameBits(t, ks.name+" prefixDecimals", got, want)

			w := uint(r.IntN(65))
			vals := make([]uint64, n)
			for i := range vals {
				vals[i] = r.Uint64() & lowMask(w)
			}
			src := appendPacked(nil, vals, w)
			base := r.Uint64()
			u1, u2 := make([]uint64, n), make([]uint64, n)
			unpackGo(u1, src, w, base)
			ks.unpack(u2, src, w, base)
			for i := range u1 {
				if u1[i] != vals[i]+base || u2[i] != u1[i] {
					t.Fatalf("%s unpack w=%d: value %d is %x / %x, want %x", ks.name, w, i, u1[i], u2[i], vals[i]+base)
				}
			}

			p := uint(1 + r.IntN(56))
			var dict [maxSplitDict]uint64
			for i := range dict {
				dict[i] = r.Uint64() &^ lowMask(p)
			}
			idx := make([]uint64, n)
			for i := range idx {
				idx[i] = uint64(r.IntN(maxSplitDict))
				vals[i] = r.Uint64() & lowMask(p)
			}
			rights := appendPacked(nil, vals, p)
			splitGo(want, idx, &dict, rights, p)
			ks.split(got, idx, &dict, rights, p)
			for i := range want {
				if math.Float64bits(want[i]) != dict[idx[i]]|vals[i] {
					t.Fatalf("split: value %d wrong", i)
				}
			}
			sameBits(t, ks.name+" split", got, want)
		}
	}
}

func sameBits(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range want {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("%s: value %d is %016x, want %016x", what, i, math.Float64bits(got[i]), math.Float64bits(want[i]))
		}
	}
}
