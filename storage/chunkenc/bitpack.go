package chunkenc

import (
	"encoding/binary"
	"math/bits"
)

// Frame-of-reference bit packing: k unsigned values of w bits each, value i
// in bits [i*w, (i+1)*w) of a little-endian bit string. Fixed-width lanes let
// a decoder find value i without reading 0..i-1, which is what a vector
// kernel needs.

func lowMask(w uint) uint64 {
	if w >= 64 {
		return ^uint64(0)
	}
	return 1<<w - 1
}

// packedLen is the number of bytes k values of w bits take.
func packedLen(k int, w uint) int { return (k*int(w) + 7) >> 3 }

// widthOf is the number of bits that holds every value in 0..span.
func widthOf(span uint64) uint { return uint(bits.Len64(span)) }

// appendPacked appends the low w bits of every value of vals.
func appendPacked(dst []byte, vals []uint64, w uint) []byte {
	if w == 0 {
		return dst
	}
	m := lowMask(w)
	var acc uint64
	var n uint // bits held in acc
	for _, v := range vals {
		v &= m
		acc |= v << n
		if n+w >= 64 {
			dst = binary.LittleEndian.AppendUint64(dst, acc)
			acc = v >> (64 - n) // Go defines a shift by 64 as 0.
			n = n + w - 64
		} else {
			n += w
		}
	}
	for n > 0 {
		dst = append(dst, byte(acc))
		acc >>= 8
		n -= min(8, n)
	}
	return dst
}

// readPacked returns value i of a packed string; src must hold packedLen(i+1, w) bytes.
func readPacked(src []byte, i int, w uint) uint64 {
	bit := i * int(w)
	b := bit >> 3
	s := uint(bit & 7)
	var lo uint64
	if b+8 <= len(src) {
		lo = binary.LittleEndian.Uint64(src[b:])
	} else {
		for k := 0; b+k < len(src); k++ {
			lo |= uint64(src[b+k]) << (8 * k)
		}
	}
	v := lo >> s
	if s+w > 64 {
		v |= uint64(src[b+8]) << (64 - s)
	}
	return v & lowMask(w)
}

// unpackGo writes len(dst) values of w bits from src plus base (wrapping);
// src holds exactly packedLen(len(dst), w) bytes. The pure-Go kernel.
func unpackGo(dst []uint64, src []byte, w uint, base uint64) {
	if w == 0 {
		for i := range dst {
			dst[i] = base
		}
		return
	}
	if w > 56 {
		for i := range dst {
			dst[i] = readPacked(src, i, w) + base
		}
		return
	}
	// While w <= 57 each value lies within the 8 bytes at its first byte.
	// Values whose 8 bytes run past src are read from a zero-padded copy
	// of the tail.
	m := lowMask(w)
	n := len(dst)
	fast := 0
	if len(src) >= 8 {
		fast = min(n, (8*(len(src)-8))/int(w)+1)
	}
	bit := 0
	for i := range dst[:fast] {
		dst[i] = (binary.LittleEndian.Uint64(src[bit>>3:])>>(uint(bit)&7))&m + base
		bit += int(w)
	}
	if fast == n {
		return
	}
	var tail [16]byte
	off := bit >> 3
	copy(tail[:], src[off:])
	bit -= 8 * off
	for i := fast; i < n; i++ {
		dst[i] = (binary.LittleEndian.Uint64(tail[bit>>3:])>>(uint(bit)&7))&m + base
		bit += int(w)
	}
}
