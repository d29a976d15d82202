package chunkenc

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"sort"
)

// The split layout (ALP's "real doubles" variant) for values that are not
// short decimals: each value's bits are cut into a left part, looked up in
// a small per-chunk dictionary, and the p low bits, bit-packed as they are.
// Gauges whose values stay within a range share sign, exponent and the top
// mantissa bits, so the left part takes a few distinct values. Unlike XOR,
// every value decodes on its own from fixed-width lanes.

const maxSplitDict = 256

// splitPlan is the best cut of a chunk's values.
type splitPlan struct {
	p    uint // right bits
	k    int  // dictionary entries
	bits int  // size of the dictionary, packed indexes and low bits
}

// planSplit finds the cut with the smallest size. Sorting the values once
// gives the number of distinct left parts for every cut: the left parts of
// two neighbours in sorted order differ exactly when their XOR has a bit at
// or above p.
func (e *encoder) planSplit(vs []float64) (splitPlan, bool) {
	n := len(vs)
	s := growU64(e.sorted, n)
	e.sorted = s
	for i, v := range vs {
		s[i] = math.Float64bits(v)
	}
	slices.Sort(s)
	var byLen [65]int
	for i := 1; i < n; i++ {
		byLen[bits.Len64(s[i]^s[i-1])]++
	}
	best := splitPlan{bits: math.MaxInt}
	above := 0 // neighbour pairs whose left parts differ for the cut p
	for p := 64; p >= 1; p-- {
		if p <= 56 {
			k := 1 + above
			if k > maxSplitDict {
				break
			}
			c := n*(p+int(widthOf(uint64(k-1)))) + k*8*((64-p+6)/7)
			if c < best.bits {
				best = splitPlan{p: uint(p), k: k, bits: c}
			}
		}
		above += byLen[p]
	}
	return best, best.k > 0
}

// appendSplit appends the split layout planned in plan.
func (e *encoder) appendSplit(dst []byte, vs []float64, plan splitPlan) []byte {
	n := len(vs)
	p := plan.p
	dict := e.dict[:0]
	for i, b := range e.sorted[:n] {
		if l := b >> p; i == 0 || l != dict[len(dict)-1] {
			dict = append(dict, l)
		}
	}
	e.dict = dict
	dst = append(dst, valSplit, byte(p), byte(len(dict)-1))
	for _, l := range dict {
		dst = binary.AppendUvarint(dst, l)
	}
	wi := widthOf(uint64(len(dict) - 1))
	u := growU64(e.u, n)
	e.u = u
	for i, v := range vs {
		l := math.Float64bits(v) >> p
		u[i] = uint64(sort.Search(len(dict), func(j int) bool { return dict[j] >= l }))
	}
	dst = appendPacked(dst, u, wi)
	for i, v := range vs {
		u[i] = math.Float64bits(v) & lowMask(p)
	}
	return appendPacked(dst, u, p)
}

func (r *reader) split(vs []float64, scratch []uint64) error {
	n := len(vs)
	pb, err := r.byte("split position")
	if err != nil {
		return err
	}
	p := uint(pb)
	if p < 1 || p > 56 {
		return corruptf(r.pos-1, "split position %d outside 1..56", p)
	}
	kb, err := r.byte("split dictionary size")
	if err != nil {
		return err
	}
	k := int(kb) + 1
	// The dictionary lives in scratch past the n indexes: a local array
	// would escape to the heap through the kernel call.
	dict := (*[maxSplitDict]uint64)(scratch[n : n+maxSplitDict])
	for i := range k {
		l, err := r.uvarint("split dictionary")
		if err != nil {
			return err
		}
		if l>>(64-p) != 0 {
			return corruptf(r.pos, "split dictionary entry wider than %d bits", 64-p)
		}
		dict[i] = l << p
	}
	wi := widthOf(uint64(k - 1))
	idx, err := r.packed(n, wi, "split indexes")
	if err != nil {
		return err
	}
	rights, err := r.packed(n, p, "split low bits")
	if err != nil {
		return err
	}
	u := scratch[:n]
	kernels.unpack(u, idx, wi, 0)
	for _, x := range u {
		if x >= uint64(k) {
			return corruptf(r.pos, "split index %d beyond %d dictionary entries", x, k)
		}
	}
	kernels.split(vs, u, dict, rights, p)
	return nil
}

// splitGo sets vs[i] from dict[idx[i]] and the i-th p-bit value of rights;
// every idx is below len(dict), p <= 56. The pure-Go kernel.
func splitGo(vs []float64, idx []uint64, dict *[maxSplitDict]uint64, rights []byte, p uint) {
	n := len(vs)
	idx = idx[:n]
	m := lowMask(p)
	fast := 0
	if len(rights) >= 8 {
		fast = min(n, (8*(len(rights)-8))/int(p)+1)
	}
	bit := 0
	for i := range fast {
		low := (binary.LittleEndian.Uint64(rights[bit>>3:]) >> (uint(bit) & 7)) & m
		vs[i] = math.Float64frombits(dict[uint8(idx[i])] | low)
		bit += int(p)
	}
	if fast == n {
		return
	}
	var tail [16]byte
	off := bit >> 3
	copy(tail[:], rights[off:])
	bit -= 8 * off
	for i := fast; i < n; i++ {
		low := (binary.LittleEndian.Uint64(tail[bit>>3:]) >> (uint(bit) & 7)) & m
		vs[i] = math.Float64frombits(dict[uint8(idx[i])] | low)
		bit += int(p)
	}
}
