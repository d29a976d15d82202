package chunkenc

import "encoding/binary"

// bitWriter appends bits most significant first, as the XOR value layout
// stores them.
type bitWriter struct {
	b   []byte
	acc uint64 // the low n bits are pending
	n   uint
}

func (w *bitWriter) write(v uint64, nb uint) {
	v &= lowMask(nb)
	free := 64 - w.n
	if nb <= free {
		w.acc = w.acc<<nb | v
		w.n += nb
		if w.n == 64 {
			w.b = binary.BigEndian.AppendUint64(w.b, w.acc)
			w.acc, w.n = 0, 0
		}
		return
	}
	// free < 64 here: w.n > 0.
	rest := nb - free
	w.b = binary.BigEndian.AppendUint64(w.b, w.acc<<free|v>>rest)
	w.acc, w.n = v&lowMask(rest), rest
}

// finish flushes the pending bits, zero-padded to a byte, and returns the bytes.
func (w *bitWriter) finish() []byte {
	if w.n > 0 {
		acc := w.acc << (64 - w.n)
		for k := uint(0); k < w.n; k += 8 {
			w.b = append(w.b, byte(acc>>56))
			acc <<= 8
		}
	}
	w.acc, w.n = 0, 0
	return w.b
}

// bitReader reads bits most significant first. buf holds valid bits at its
// top; the bits below are zero.
type bitReader struct {
	b     []byte
	pos   int // next byte of b to load
	buf   uint64
	valid uint
}

func (r *bitReader) refill() {
	if r.pos+8 <= len(r.b) {
		k := (63 - r.valid) >> 3 // whole bytes that fit
		r.buf |= (binary.BigEndian.Uint64(r.b[r.pos:]) >> r.valid) &^ lowMask(64-r.valid-8*k)
		r.pos += int(k)
		r.valid += 8 * k
		return
	}
	for r.valid <= 56 && r.pos < len(r.b) {
		r.buf |= uint64(r.b[r.pos]) << (56 - r.valid)
		r.valid += 8
		r.pos++
	}
}

// fill loads whole bytes until at least 56 bits are valid or the input
// ends; the common case is one unaligned load, small enough to inline.
func (r *bitReader) fill() {
	if r.pos+8 <= len(r.b) {
		k := (63 - r.valid) >> 3
		r.buf |= (binary.BigEndian.Uint64(r.b[r.pos:]) >> r.valid) &^ lowMask(64-r.valid-8*k)
		r.pos += int(k)
		r.valid += 8 * k
		return
	}
	r.refill()
}

// take returns the next nb bits, nb <= 64.
func (r *bitReader) take(nb uint) (uint64, bool) {
	if nb <= r.valid {
		v := r.buf >> (64 - nb)
		r.buf <<= nb
		r.valid -= nb
		return v, true
	}
	return r.readWide(nb)
}

// read returns the next nb <= 56 bits; ok is false when the input ends first.
func (r *bitReader) read(nb uint) (v uint64, ok bool) {
	if r.valid < nb {
		r.refill()
		if r.valid < nb {
			return 0, false
		}
	}
	v = r.buf >> (64 - nb) // nb == 0 gives 0
	r.buf <<= nb
	r.valid -= nb
	return v, true
}

// readWide reads nb <= 64 bits.
func (r *bitReader) readWide(nb uint) (uint64, bool) {
	if nb <= 56 {
		return r.read(nb)
	}
	hi, ok1 := r.read(nb - 32)
	lo, ok2 := r.read(32)
	return hi<<32 | lo, ok1 && ok2
}

// bitsLeft is the number of unread bits, pad bits of the last byte included.
func (r *bitReader) bitsLeft() int { return int(r.valid) + 8*(len(r.b)-r.pos) }
