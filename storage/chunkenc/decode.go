package chunkenc

import (
	"encoding/binary"
	"math"
)

// reader walks a chunk's bytes; every failure is a *CorruptError with the offset.
type reader struct {
	b   []byte
	pos int
}

func (r *reader) byte(what string) (byte, error) {
	if r.pos >= len(r.b) {
		return 0, corruptf(r.pos, "%s: unexpected end", what)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) varint(what string) (int64, error) {
	v, k := binary.Varint(r.b[r.pos:])
	if k <= 0 {
		return 0, corruptf(r.pos, "%s: bad varint", what)
	}
	r.pos += k
	return v, nil
}

func (r *reader) uvarint(what string) (uint64, error) {
	v, k := binary.Uvarint(r.b[r.pos:])
	if k <= 0 {
		return 0, corruptf(r.pos, "%s: bad uvarint", what)
	}
	r.pos += k
	return v, nil
}

func (r *reader) u64(what string) (uint64, error) {
	if len(r.b)-r.pos < 8 {
		return 0, corruptf(r.pos, "%s: unexpected end", what)
	}
	v := binary.LittleEndian.Uint64(r.b[r.pos:])
	r.pos += 8
	return v, nil
}

func (r *reader) width(what string) (uint, error) {
	w, err := r.byte(what)
	if err == nil && w > 64 {
		err = corruptf(r.pos-1, "%s: bit width %d > 64", what, w)
	}
	return uint(w), err
}

func (r *reader) packed(k int, w uint, what string) ([]byte, error) {
	l := packedLen(k, w)
	if len(r.b)-r.pos < l {
		return nil, corruptf(r.pos, "%s: %d packed bytes, %d left", what, l, len(r.b)-r.pos)
	}
	s := r.b[r.pos : r.pos+l]
	r.pos += l
	return s, nil
}

// numSamples is the count in a chunk's header (0 for a short slice).
func numSamples(b []byte) int {
	if len(b) < headerSize {
		return 0
	}
	return int(binary.BigEndian.Uint16(b))
}

// scratchLen is the scratch decodeChunk needs for n samples.
func scratchLen(n int) int { return n + maxSplitDict }

// decodeChunk decodes the chunk b into ts and vs, which hold numSamples(b)
// elements; scratch holds scratchLen(numSamples(b)).
func decodeChunk(b []byte, ts []int64, vs []float64, scratch []uint64) error {
	return decodeChunkAt(b, nil, ts, vs, scratch)
}

// decodeChunkAt is decodeChunk for a chunk whose first timestamp is *t0
// and not in b (ElideFirstTimestamp), or in b when t0 is nil.
func decodeChunkAt(b []byte, t0 *int64, ts []int64, vs []float64, scratch []uint64) error {
	if len(b) < headerSize {
		return corruptf(0, "%d bytes, shorter than the header", len(b))
	}
	n := numSamples(b)
	r := reader{b: b, pos: headerSize}
	if n == 0 {
		if len(b) != headerSize {
			return corruptf(headerSize, "%d bytes after an empty chunk's header", len(b)-headerSize)
		}
		return nil
	}
	if err := r.timestamps(ts[:n], scratch[:n], t0); err != nil {
		return err
	}
	return r.values(vs[:n], scratch[:scratchLen(n)])
}

// timestamps decodes the timestamps; the first is *given when not nil.
func (r *reader) timestamps(ts []int64, scratch []uint64, given *int64) error {
	n := len(ts)
	var t0 int64
	if given != nil {
		t0 = *given
	} else {
		var err error
		if t0, err = r.varint("first timestamp"); err != nil {
			return err
		}
	}
	ts[0] = t0
	if n == 1 {
		return nil
	}
	mode, err := r.byte("timestamp layout")
	if err != nil {
		return err
	}
	switch mode {
	case tsDelta:
		base, err := r.varint("delta base")
		if err != nil {
			return err
		}
		w, err := r.width("delta width")
		if err != nil {
			return err
		}
		src, err := r.packed(n-1, w, "deltas")
		if err != nil {
			return err
		}
		if w == 0 { // a regular interval
			t := t0
			for i := 1; i < n; i++ {
				t += base
				ts[i] = t
			}
			return nil
		}
		u := scratch[:n-1]
		kernels.unpack(u, src, w, uint64(base))
		t := t0
		for i, d := range u {
			t += int64(d)
			ts[i+1] = t
		}
	case tsDoD:
		d, err := r.varint("first delta")
		if err != nil {
			return err
		}
		t := t0 + d
		ts[1] = t
		if n == 2 {
			return nil
		}
		base, err := r.varint("delta-of-delta base")
		if err != nil {
			return err
		}
		w, err := r.width("delta-of-delta width")
		if err != nil {
			return err
		}
		src, err := r.packed(n-2, w, "delta-of-deltas")
		if err != nil {
			return err
		}
		u := scratch[:n-2]
		kernels.unpack(u, src, w, uint64(base))
		for i, dd := range u {
			d += int64(dd)
			t += d
			ts[i+2] = t
		}
	case tsSeconds:
		k, err := r.uvarint("step in seconds")
		if err != nil {
			return err
		}
		if k == 0 || k > maxSecondsStep {
			return corruptf(r.pos-1, "step of %d s", k)
		}
		step := int64(k) * 1000
		for i := 1; i < n; i++ {
			ts[i] = t0 + int64(i)*step
		}
	case tsGrid:
		step, err := r.varint("grid step")
		if err != nil {
			return err
		}
		base, err := r.varint("grid base")
		if err != nil {
			return err
		}
		w, err := r.width("grid width")
		if err != nil {
			return err
		}
		src, err := r.packed(n-1, w, "grid offsets")
		if err != nil {
			return err
		}
		u := scratch[:n-1]
		kernels.unpack(u, src, w, uint64(base))
		for i, g := range u {
			ts[i+1] = t0 + int64(i+1)*step + int64(g)
		}
	default:
		return corruptf(r.pos-1, "unknown timestamp layout %d", mode)
	}
	return nil
}

func (r *reader) values(vs []float64, scratch []uint64) error {
	mode, err := r.byte("value layout")
	if err != nil {
		return err
	}
	switch mode {
	case valConst:
		b, err := r.u64("constant")
		if err != nil {
			return err
		}
		v := math.Float64frombits(b)
		for i := range vs {
			vs[i] = v
		}
	case valDecimal, valDecimalDelta:
		e, err := r.byte("exponent")
		if err != nil {
			return err
		}
		if e > maxExp {
			return corruptf(r.pos-1, "exponent %d > %d", e, maxExp)
		}
		if err := r.decimals(vs, scratch, mode == valDecimalDelta, pow10[e]); err != nil {
			return err
		}
		if err := r.exceptions(vs); err != nil {
			return err
		}
	case valConstDecimal:
		e, err := r.byte("exponent")
		if err != nil {
			return err
		}
		if e > maxExp {
			return corruptf(r.pos-1, "exponent %d > %d", e, maxExp)
		}
		d, err := r.varint("constant decimal")
		if err != nil {
			return err
		}
		v := decimalValue(d, pow10[e])
		for i := range vs {
			vs[i] = v
		}
	case valDecimalLine:
		e, err := r.byte("exponent")
		if err != nil {
			return err
		}
		if e > maxExp {
			return corruptf(r.pos-1, "exponent %d > %d", e, maxExp)
		}
		u, err := r.ints(len(vs), laneLine, scratch)
		if err != nil {
			return err
		}
		kernels.decimals(vs, u, pow10[e])
		if err := r.exceptions(vs); err != nil {
			return err
		}
	case valBinary, valBinaryDelta, valBinaryLine:
		e, err := r.varint("binary exponent")
		if err != nil {
			return err
		}
		if e < minBinaryExp || e > maxBinaryExp {
			return corruptf(r.pos-1, "binary exponent %d outside [%d, %d]", e, minBinaryExp, maxBinaryExp)
		}
		u, err := r.ints(len(vs), int(mode-valBinary), scratch)
		if err != nil {
			return err
		}
		binaryValues(vs, u, math.Ldexp(1, int(e)))
		if err := r.exceptions(vs); err != nil {
			return err
		}
	case valXOR:
		return r.xor(vs)
	case valSplit:
		if err := r.split(vs, scratch); err != nil {
			return err
		}
	default:
		return corruptf(r.pos-1, "unknown value layout %d", mode)
	}
	if r.pos != len(r.b) {
		return corruptf(r.pos, "%d bytes after the values", len(r.b)-r.pos)
	}
	return nil
}

func (r *reader) decimals(vs []float64, scratch []uint64, delta bool, p float64) error {
	n := len(vs)
	var first int64
	if delta {
		var err error
		if first, err = r.varint("first decimal"); err != nil {
			return err
		}
	}
	base, err := r.varint("decimal base")
	if err != nil {
		return err
	}
	w, err := r.width("decimal width")
	if err != nil {
		return err
	}
	k := n
	if delta {
		k = n - 1
	}
	src, err := r.packed(k, w, "decimals")
	if err != nil {
		return err
	}
	u := scratch[:k]
	kernels.unpack(u, src, w, uint64(base))
	if !delta {
		kernels.decimals(vs, u, p)
		return nil
	}
	vs[0] = decimalValue(first, p)
	kernels.prefixDecimals(vs[1:], u, first, p)
	return nil
}

// ints decodes the lanes of a scaled-integer layout into scratch[:n]: the
// integers d (int64 bits), before their scaling.
func (r *reader) ints(n, lanes int, scratch []uint64) ([]uint64, error) {
	var first, slope int64
	var err error
	switch lanes {
	case laneDelta:
		first, err = r.varint("first integer")
	case laneLine:
		slope, err = r.varint("slope")
	}
	if err != nil {
		return nil, err
	}
	base, err := r.varint("integer base")
	if err != nil {
		return nil, err
	}
	w, err := r.width("integer width")
	if err != nil {
		return nil, err
	}
	k := n
	if lanes == laneDelta {
		k = n - 1
	}
	src, err := r.packed(k, w, "integers")
	if err != nil {
		return nil, err
	}
	u := scratch[:n]
	switch lanes {
	case laneDirect:
		kernels.unpack(u, src, w, uint64(base))
	case laneDelta:
		kernels.unpack(u[1:], src, w, uint64(base))
		acc := uint64(first)
		u[0] = acc
		for i := 1; i < n; i++ {
			acc += u[i]
			u[i] = acc
		}
	case laneLine:
		kernels.unpack(u, src, w, uint64(base))
		line := uint64(0)
		for i := range u {
			u[i] += line
			line += uint64(slope)
		}
	}
	return u, nil
}

// binaryValues sets vs[i] = binaryValue(int64(d[i]), scale).
func binaryValues(vs []float64, d []uint64, scale float64) {
	d = d[:len(vs)]
	for i, x := range d {
		vs[i] = binaryValue(int64(x), scale)
	}
}

// decimalsGo sets vs[i] = decimalValue(int64(d[i]), p): the pure-Go kernel.
func decimalsGo(vs []float64, d []uint64, p float64) {
	d = d[:len(vs)]
	if p == 1 {
		for i, x := range d {
			vs[i] = float64(int64(x))
		}
		return
	}
	for i, x := range d {
		vs[i] = float64(int64(x)) / p
	}
}

// prefixDecimalsGo sets vs[i] = decimalValue(first+d[0]+...+d[i], p).
func prefixDecimalsGo(vs []float64, d []uint64, first int64, p float64) {
	d = d[:len(vs)]
	acc := first
	if p == 1 {
		for i, x := range d {
			acc += int64(x)
			vs[i] = float64(acc)
		}
		return
	}
	for i, x := range d {
		acc += int64(x)
		vs[i] = float64(acc) / p
	}
}

func (r *reader) exceptions(vs []float64) error {
	n := len(vs)
	k, err := r.uvarint("exception count")
	if err != nil {
		return err
	}
	if k > uint64(n) {
		return corruptf(r.pos, "%d exceptions in %d samples", k, n)
	}
	pos := -1
	for range k {
		gap, err := r.uvarint("exception position")
		if err != nil {
			return err
		}
		if gap >= uint64(n) || pos+1+int(gap) >= n {
			return corruptf(r.pos, "exception position beyond %d samples", n)
		}
		pos += 1 + int(gap)
		b, err := r.u64("exception value")
		if err != nil {
			return err
		}
		vs[pos] = math.Float64frombits(b)
	}
	return nil
}

func (r *reader) xor(vs []float64) error {
	prev, err := r.u64("first value")
	if err != nil {
		return err
	}
	vs[0] = math.Float64frombits(prev)
	start := r.pos
	br := bitReader{b: r.b[start:]}
	var plz, ptz uint
	have := false
	for i := 1; i < len(vs); i++ {
		// A sample's control bits and header take at most 13 bits.
		if br.valid < 13 {
			br.fill()
		}
		top := br.buf
		switch {
		case br.valid >= 1 && top>>63 == 0: // repeat
			br.buf <<= 1
			br.valid--
			vs[i] = math.Float64frombits(prev)
			continue
		case br.valid >= 2 && top>>62 == 0b10: // the previous window
			if !have {
				return corruptf(start, "XOR sample %d reuses a window before any was set", i)
			}
			br.buf <<= 2
			br.valid -= 2
			x, ok := br.take(64 - plz - ptz)
			if !ok {
				return corruptf(start, "XOR values end in sample %d", i)
			}
			prev ^= x << ptz
		case br.valid >= 13: // a new window
			lz, sig := uint(top>>57)&31, uint(top>>51)&63
			br.buf <<= 13
			br.valid -= 13
			if sig == 0 {
				sig = 64
			}
			if lz+sig > 64 {
				return corruptf(start, "XOR sample %d: %d leading and %d significant bits", i, lz, sig)
			}
			x, ok := br.take(sig)
			if !ok {
				return corruptf(start, "XOR values end in sample %d", i)
			}
			plz, ptz, have = lz, 64-lz-sig, true
			prev ^= x << ptz
		default:
			return corruptf(start, "XOR values end before sample %d", i)
		}
		vs[i] = math.Float64frombits(prev)
	}
	if br.bitsLeft() >= 8 {
		return corruptf(start+len(br.b)-br.bitsLeft()/8, "%d bytes after the values", br.bitsLeft()/8)
	}
	return nil
}
