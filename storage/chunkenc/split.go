package chunkenc

import (
	"encoding/binary"
	"math"
	"math/bits"
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
	lo   uint // the lowest cut considered: key = bits>>lo & 0xff
}

// planSplit finds the cut with the smallest size. Bits at and above L
// (the highest bit in which any two values differ, plus one) are common to
// all values, so cuts from L down to L-8 have at most 256 left parts, told
// apart by the key bits [L-8, L); cuts below would need a larger dictionary.
// The distinct keys in order give the number of left parts of every cut.
func (e *encoder) planSplit(vs []float64) (splitPlan, bool) {
	b0 := math.Float64bits(vs[0])
	var diff uint64
	for _, v := range vs[1:] {
		diff |= math.Float64bits(v) ^ b0
	}
	top := uint(bits.Len64(diff))
	lo := max(top, 9) - 8
	if lo > 56 {
		return splitPlan{}, false
	}
	var present [4]uint64
	for _, v := range vs {
		k := math.Float64bits(v) >> lo & 0xff
		present[k>>6] |= 1 << (k & 63)
	}
	keys := e.keys[:0]
	for w, word := range present {
		for word != 0 {
			keys = append(keys, uint8(w*64+bits.TrailingZeros64(word)))
			word &= word - 1
		}
	}
	e.keys = keys
	n := len(vs)
	best := splitPlan{bits: math.MaxInt}
	for p := lo; p <= min(top, 56); p++ {
		s := p - lo
		k := 1
		for i := 1; i < len(keys); i++ {
			if keys[i]>>s != keys[i-1]>>s {
				k++
			}
		}
		c := n*(int(p)+int(widthOf(uint64(k-1)))) + k*8*((64-int(p)+6)/7)
		if c < best.bits {
			best = splitPlan{p: p, k: k, bits: c, lo: lo}
		}
	}
	return best, best.k > 0
}

// appendSplit appends the split layout planned in plan.
func (e *encoder) appendSplit(dst []byte, vs []float64, plan splitPlan) []byte {
	n := len(vs)
	p, lo := plan.p, plan.lo
	// Every value's left part is its common high bits with the key's.
	common := math.Float64bits(vs[0]) &^ lowMask(lo+8)
	var rank [256]uint8
	dict := e.dict[:0]
	for _, k := range e.keys {
		l := (common | uint64(k)<<lo) >> p
		if len(dict) == 0 || l != dict[len(dict)-1] {
			dict = append(dict, l)
		}
		rank[k] = uint8(len(dict) - 1)
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
		u[i] = uint64(rank[math.Float64bits(v)>>lo&0xff])
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
