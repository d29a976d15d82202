package loadgen

import (
	"encoding/binary"
	"fmt"
)

// region is a byte range of an uncompressed body whose content changes from
// round to round (a sample's value and timestamp).
type region struct{ off, len int }

// Snappy block format elements (https://github.com/google/snappy/blob/main/format_description.txt).
const (
	tagLiteral = 0x00
	tagCopy2   = 0x02
	maxOffset  = 1<<16 - 1
	maxCopyLen = 64
	hashBits   = 15
	minMatch   = 4
)

// encodePatchable compresses src into the snappy block format, like
// snappy.Encode, with one difference: every region is emitted inside a
// literal and no copy ever reads from or writes to a region. The regions'
// bytes can then be overwritten in the compressed output (at the returned
// offsets, one per region) and the block still decodes, to src with those
// bytes changed. Regions must be sorted and not overlap.
func encodePatchable(dst, src []byte, regions []region) ([]byte, []int32, error) {
	static := make([]bool, len(src)+minMatch)
	for i := range src {
		static[i] = true
	}
	prevEnd := 0
	for _, r := range regions {
		if r.off < prevEnd || r.len <= 0 || r.off+r.len > len(src) {
			return nil, nil, fmt.Errorf("loadgen: bad patch region %d+%d in %d bytes", r.off, r.len, len(src))
		}
		for k := r.off; k < r.off+r.len; k++ {
			static[k] = false
		}
		prevEnd = r.off + r.len
	}
	dst = binary.AppendUvarint(dst, uint64(len(src)))
	offs := make([]int32, 0, len(regions))
	nextRegion := 0
	emitLiteral := func(a, b int) {
		if a == b {
			return
		}
		n := b - a - 1
		switch {
		case n < 60:
			dst = append(dst, byte(n)<<2|tagLiteral)
		case n < 1<<8:
			dst = append(dst, 60<<2|tagLiteral, byte(n))
		case n < 1<<16:
			dst = append(dst, 61<<2|tagLiteral, byte(n), byte(n>>8))
		case n < 1<<24:
			dst = append(dst, 62<<2|tagLiteral, byte(n), byte(n>>8), byte(n>>16))
		default:
			dst = append(dst, 63<<2|tagLiteral, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
		}
		base := len(dst)
		dst = append(dst, src[a:b]...)
		for nextRegion < len(regions) && regions[nextRegion].off < b {
			offs = append(offs, int32(base+regions[nextRegion].off-a))
			nextRegion++
		}
	}
	var table [1 << hashBits]int32
	for k := range table {
		table[k] = -1
	}
	hash := func(p int) uint32 {
		return (binary.LittleEndian.Uint32(src[p:]) * 0x1e35a7bd) >> (32 - hashBits)
	}
	isStatic4 := func(p int) bool { return static[p] && static[p+1] && static[p+2] && static[p+3] }
	lit := 0
	for i := 0; i+minMatch <= len(src); {
		if !isStatic4(i) {
			i++
			continue
		}
		h := hash(i)
		cand := int(table[h])
		table[h] = int32(i)
		if cand < 0 || i-cand > maxOffset || binary.LittleEndian.Uint32(src[cand:]) != binary.LittleEndian.Uint32(src[i:]) {
			i++
			continue
		}
		n := minMatch
		for i+n < len(src) && static[i+n] && static[cand+n] && src[cand+n] == src[i+n] {
			n++
		}
		emitLiteral(lit, i)
		for rest := n; rest > 0; {
			l := min(rest, maxCopyLen)
			if rest-l > 0 && rest-l < minMatch { // never leave a tail too short to be worth a copy
				l = rest - minMatch
			}
			off := i - cand
			dst = append(dst, byte(l-1)<<2|tagCopy2, byte(off), byte(off>>8))
			rest -= l
		}
		// Index a position inside the match so that runs of similar series keep matching.
		if i+n-1+minMatch <= len(src) && isStatic4(i+n-1) {
			table[hash(i+n-1)] = int32(i + n - 1)
		}
		i += n
		lit = i
	}
	emitLiteral(lit, len(src))
	if len(offs) != len(regions) {
		return nil, nil, fmt.Errorf("loadgen: %d of %d patch regions placed", len(offs), len(regions))
	}
	return dst, offs, nil
}
