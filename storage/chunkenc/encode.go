package chunkenc

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sync"
)

// encoder holds scratch space reused across chunks.
type encoder struct {
	u     []uint64
	keys  []uint8
	d     []int64
	exc   []int
	xor   []byte
	split []byte
	bin   []byte // the binary layout, written aside to compare sizes
	dict  []uint64
}

var encoderPool = sync.Pool{New: func() any { return new(encoder) }}

func growU64(s []uint64, n int) []uint64 {
	if cap(s) < n {
		return make([]uint64, n, n+n/4)
	}
	return s[:n]
}

func growI64(s []int64, n int) []int64 {
	if cap(s) < n {
		return make([]int64, n, n+n/4)
	}
	return s[:n]
}

func growF64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n, n+n/4)
	}
	return s[:n]
}

// appendChunk appends the encoding of the samples (ts[i], vs[i]) to dst;
// len(ts) == len(vs) <= MaxSamples.
func appendChunk(dst []byte, ts []int64, vs []float64) []byte {
	n := len(ts)
	dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	if n == 0 {
		return dst
	}
	e := encoderPool.Get().(*encoder)
	dst = e.appendTimestamps(dst, ts)
	dst = e.appendValues(dst, vs)
	encoderPool.Put(e)
	return dst
}

func (e *encoder) appendTimestamps(dst []byte, ts []int64) []byte {
	n := len(ts)
	dst = binary.AppendVarint(dst, ts[0])
	if n == 1 {
		return dst
	}
	// Deltas and delta-of-deltas use wrapping arithmetic, so any int64
	// sequence round-trips (timestamps in a chunk normally increase).
	u := growU64(e.u, n)
	e.u = u
	minD, maxD := int64(math.MaxInt64), int64(math.MinInt64)
	for i := 1; i < n; i++ {
		d := ts[i] - ts[i-1]
		u[i] = uint64(d)
		minD, maxD = min(minD, d), max(maxD, d)
	}
	if minD == maxD {
		// A regular interval: deltas in 0 bits, which nothing beats; in
		// whole seconds (scrape intervals are) the step takes a byte.
		if minD > 0 && minD%1000 == 0 {
			dst = append(dst, tsSeconds)
			return binary.AppendUvarint(dst, uint64(minD/1000))
		}
		dst = append(dst, tsDelta)
		dst = binary.AppendVarint(dst, minD)
		return append(dst, 0)
	}
	wd := widthOf(uint64(maxD) - uint64(minD))
	costDelta := varintLen(minD) + 1 + packedLen(n-1, wd)

	d1 := int64(u[1])
	costDoD := varintLen(d1)
	minDD, maxDD := int64(math.MaxInt64), int64(math.MinInt64)
	var wdd uint
	if n >= 3 {
		for i := 2; i < n; i++ {
			dd := int64(u[i] - u[i-1])
			minDD, maxDD = min(minDD, dd), max(maxDD, dd)
		}
		wdd = widthOf(uint64(maxDD) - uint64(minDD))
		costDoD += varintLen(minDD) + 1 + packedLen(n-2, wdd)
	}

	// Offsets from the grid t0 + i*step: scrape jitter costs its own span
	// here, where deltas see twice the span (two jitters per delta). The
	// step is the mean interval, or that rounded to whole seconds (scrape
	// intervals are), whichever gives the narrower offsets: the mean is
	// off by the jitter of the chunk's ends, which drifts the grid.
	mean := (ts[n-1] - ts[0]) / int64(n-1)
	step, minG, wg := gridOffsets(ts, mean)
	if rounded := (mean + 500) / 1000 * 1000; rounded != mean && rounded > 0 {
		if s, m, w := gridOffsets(ts, rounded); w < wg {
			step, minG, wg = s, m, w
		}
	}
	costGrid := varintLen(step) + varintLen(minG) + 1 + packedLen(n-1, wg)

	if costGrid < costDelta && costGrid < costDoD {
		for i := 1; i < n; i++ {
			u[i] = uint64(ts[i]-ts[0]-int64(i)*step) - uint64(minG)
		}
		dst = append(dst, tsGrid)
		dst = binary.AppendVarint(dst, step)
		dst = binary.AppendVarint(dst, minG)
		dst = append(dst, byte(wg))
		return appendPacked(dst, u[1:n], wg)
	}
	if costDoD < costDelta {
		dst = append(dst, tsDoD)
		dst = binary.AppendVarint(dst, d1)
		if n < 3 {
			return dst
		}
		for i := n - 1; i >= 2; i-- {
			u[i] = u[i] - u[i-1] - uint64(minDD)
		}
		dst = binary.AppendVarint(dst, minDD)
		dst = append(dst, byte(wdd))
		return appendPacked(dst, u[2:n], wdd)
	}
	for i := 1; i < n; i++ {
		u[i] -= uint64(minD)
	}
	dst = append(dst, tsDelta)
	dst = binary.AppendVarint(dst, minD)
	dst = append(dst, byte(wd))
	return appendPacked(dst, u[1:n], wd)
}

// gridOffsets returns the base and width of the offsets of ts from the grid
// ts[0] + i*step.
func gridOffsets(ts []int64, step int64) (int64, int64, uint) {
	minG, maxG := int64(math.MaxInt64), int64(math.MinInt64)
	for i := 1; i < len(ts); i++ {
		g := ts[i] - ts[0] - int64(i)*step
		minG, maxG = min(minG, g), max(maxG, g)
	}
	return step, minG, widthOf(uint64(maxG) - uint64(minG))
}

func (e *encoder) appendValues(dst []byte, vs []float64) []byte {
	b0 := math.Float64bits(vs[0])
	same := true
	for _, v := range vs[1:] {
		if math.Float64bits(v) != b0 {
			same = false
			break
		}
	}
	if same {
		// A short decimal (up = 1, a one-sample chunk of a counter) as
		// its integer: a few bytes instead of eight.
		if e := minExponent(vs[0]); e >= 0 {
			if d := int64(math.Round(vs[0] * pow10[e])); 1+varintLen(d) < 8 {
				dst = append(dst, valConstDecimal, byte(e))
				return binary.AppendVarint(dst, d)
			}
		}
		dst = append(dst, valConst)
		return binary.LittleEndian.AppendUint64(dst, b0)
	}
	exp, ok := chooseExponent(vs)
	if !ok {
		return e.appendFullPrecision(dst, vs, math.MaxInt)
	}
	start := len(dst)
	out, nexc := e.appendDecimal(dst, vs, exp)
	if exp == 0 {
		// Integers: if they all end in zero bits (bytes in pages, say),
		// the binary layout drops them.
		out = e.keepSmaller(out, start, vs)
	}
	if nexc*4 <= len(vs) {
		return out
	}
	// Many exceptions: a full-precision layout may be smaller.
	return e.appendFullPrecision(out[:start], vs, len(out)-start)
}

// keepSmaller replaces the layout in dst[start:] with the binary one when
// that is smaller.
func (e *encoder) keepSmaller(dst []byte, start int, vs []float64) []byte {
	if exp, ok := binaryExponent(vs); !ok || exp <= 0 {
		return dst // the same integers, or worse
	}
	bin, _, ok := e.appendBinary(e.bin[:0], vs)
	e.bin = bin
	if ok && len(bin) < len(dst)-start {
		return append(dst[:start], bin...)
	}
	return dst
}

// appendFullPrecision appends the smaller of the split and XOR layouts,
// unless both are larger than sizeToBeat bytes (the caller's layout, which
// is already in dst[len(dst):len(dst)+sizeToBeat]); it then leaves that.
func (e *encoder) appendFullPrecision(dst []byte, vs []float64, sizeToBeat int) []byte {
	start := len(dst)
	keep := dst[:start+min(sizeToBeat, cap(dst)-start)]
	// XOR and split sizes are counted without writing, so only the winner
	// is encoded; the binary layout is written aside.
	xorLen := 9 + (xorBits(vs)+7)/8
	plan, ok := e.planSplit(vs)
	splitLen := 3 + (plan.bits+7)/8
	if !ok {
		splitLen = math.MaxInt
	}
	bin, _, binOK := e.appendBinary(e.bin[:0], vs)
	e.bin = bin
	binLen := math.MaxInt
	if binOK {
		binLen = len(bin)
	}
	best := min(xorLen, splitLen, binLen)
	switch {
	case best >= sizeToBeat:
		return keep
	case binLen == best:
		return append(dst, bin...)
	case splitLen == best:
		return e.appendSplit(dst, vs, plan)
	}
	return appendXOR(dst, vs)
}

// xorBits is the size of appendXOR's bit stream.
func xorBits(vs []float64) int {
	n := 0
	prev := math.Float64bits(vs[0])
	var plz, ptz uint
	have := false
	for _, v := range vs[1:] {
		cur := math.Float64bits(v)
		x := cur ^ prev
		prev = cur
		if x == 0 {
			n++
			continue
		}
		lz := min(uint(bits.LeadingZeros64(x)), 31)
		tz := uint(bits.TrailingZeros64(x))
		if have && lz >= plz && tz >= ptz {
			n += 2 + int(64-plz-ptz)
			continue
		}
		n += 13 + int(64-lz-tz)
		plz, ptz, have = lz, tz, true
	}
	return n
}

// minExponent is the smallest e <= maxExp for which v is exactly
// decimalValue(d, 10^e) for an integer d, or -1.
func minExponent(v float64) int {
	vb := math.Float64bits(v)
	for e := 0; e <= maxExp; e++ {
		x := v * pow10[e]
		if !(math.Abs(x) < 1<<52) { // also NaN and ±Inf
			return -1
		}
		if math.Float64bits(decimalValue(int64(math.Round(x)), pow10[e])) == vb {
			return e
		}
	}
	return -1
}

// chooseExponent picks the chunk's decimal exponent from a sample of its
// values (ALP samples too): each extra digit costs about 3.3 bits per value,
// each exception about 72 bits. ok is false when most sampled values are not
// short decimals, which sends the chunk to XOR.
func chooseExponent(vs []float64) (exp int, ok bool) {
	const sampleSize = 16
	n := len(vs)
	k := min(n, sampleSize)
	var byExp [maxExp + 2]int // the last slot counts values with no exponent
	for i := range k {
		me := minExponent(vs[i*n/k])
		if me < 0 {
			me = maxExp + 1
		}
		byExp[me]++
		if i == 3 && byExp[maxExp+1] == 4 {
			// Full precision: each failed value costs up to 19 tries, so
			// give up after the first four rather than sample all.
			return 0, false
		}
	}
	if byExp[maxExp+1]*2 > k {
		return 0, false
	}
	best, bestCost := 0, math.Inf(1)
	above := k // sampled values needing a larger exponent than e
	for e := 0; e <= maxExp; e++ {
		above -= byExp[e]
		if byExp[e] == 0 && e > 0 {
			continue
		}
		cost := float64(above)*72 + float64(k)*3.33*float64(e)
		if cost < bestCost {
			best, bestCost = e, cost
		}
	}
	return best, true
}

// appendDecimal appends the decimal layout with exponent exp and returns the
// number of exceptions it stored.
func (e *encoder) appendDecimal(dst []byte, vs []float64, exp int) ([]byte, int) {
	n := len(vs)
	p := pow10[exp]
	d := growI64(e.d, n)
	e.d = d
	exc := e.exc[:0]
	var last int64 // exceptions take the previous d, so they widen nothing
	have := false
	for i, v := range vs {
		x := v * p
		if math.Abs(x) < 1<<52 {
			di := int64(math.Round(x))
			if math.Float64bits(decimalValue(di, p)) == math.Float64bits(v) {
				if !have {
					for _, j := range exc {
						d[j] = di
					}
					have = true
				}
				d[i], last = di, di
				continue
			}
		}
		exc = append(exc, i)
		d[i] = last
	}
	e.exc = exc

	return e.appendInts(dst, vs, d, exc, false, exp), len(exc)
}

// appendInts appends a scaled-integer layout (decimal d/10^exp, or binary
// d*2^exp when base2 is set) of the integers d, with the values at the
// positions exc as exceptions (their lanes hold a neighbour's d). The lanes
// are d directly, its deltas, or its residuals from a line, whichever is
// smallest (ties keep the earlier of the three).
func (e *encoder) appendInts(dst []byte, vs []float64, d []int64, exc []int, base2 bool, exp int) []byte {
	n := len(d)
	minV, maxV := d[0], d[0]
	minD, maxD := int64(math.MaxInt64), int64(math.MinInt64)
	for i := 1; i < n; i++ {
		minV, maxV = min(minV, d[i]), max(maxV, d[i])
		dd := d[i] - d[i-1]
		minD, maxD = min(minD, dd), max(maxD, dd)
	}
	wDirect := widthOf(uint64(maxV - minV))
	wDelta := widthOf(uint64(maxD) - uint64(minD))
	costDirect := varintLen(minV) + 1 + packedLen(n, wDirect)
	costDelta := varintLen(d[0]) + varintLen(minD) + 1 + packedLen(n-1, wDelta)
	lanes, cost := laneDirect, costDirect
	if costDelta < cost {
		lanes, cost = laneDelta, costDelta
	}
	var slope, minR int64
	var wLine uint
	if n >= 3 && wDelta > 0 && lineSafe(minV, maxV, minD, maxD) {
		var ok bool
		if slope, minR, wLine, ok = fitLine(d, exc, minD, maxD, wDelta); ok {
			if c := varintLen(slope) + varintLen(minR) + 1 + packedLen(n, wLine); c < cost {
				lanes = laneLine
			}
		}
	}

	dst = append(dst, intLayouts[b2i(base2)][lanes])
	if base2 {
		dst = binary.AppendVarint(dst, int64(exp))
	} else {
		dst = append(dst, byte(exp))
	}
	u := growU64(e.u, n)
	e.u = u
	switch lanes {
	case laneDelta:
		dst = binary.AppendVarint(dst, d[0])
		dst = binary.AppendVarint(dst, minD)
		dst = append(dst, byte(wDelta))
		for i := 1; i < n; i++ {
			u[i-1] = uint64(d[i]-d[i-1]) - uint64(minD)
		}
		dst = appendPacked(dst, u[:n-1], wDelta)
	case laneLine:
		dst = binary.AppendVarint(dst, slope)
		dst = binary.AppendVarint(dst, minR)
		dst = append(dst, byte(wLine))
		for i := range n {
			u[i] = uint64(d[i]-int64(i)*slope) - uint64(minR)
		}
		for _, i := range exc {
			u[i] = 0 // any lane decodes; the exception overrides it
		}
		dst = appendPacked(dst, u[:n], wLine)
	default:
		dst = binary.AppendVarint(dst, minV)
		dst = append(dst, byte(wDirect))
		for i := range n {
			u[i] = uint64(d[i] - minV)
		}
		dst = appendPacked(dst, u[:n], wDirect)
	}

	dst = binary.AppendUvarint(dst, uint64(len(exc)))
	prev := -1
	for _, i := range exc {
		dst = binary.AppendUvarint(dst, uint64(i-prev-1))
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(vs[i]))
		prev = i
	}
	return dst
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lineSafe says whether residuals d[i] - i*slope, for any slope between
// minD and maxD and i below MaxSamples, stay far from int64 overflow, so
// that fitLine's comparisons mean what they say.
func lineSafe(minV, maxV, minD, maxD int64) bool {
	const lim = 1 << 40 // * MaxSamples < 2^56
	return minD > -lim && maxD < lim && minV > -(1<<61) && maxV < 1<<61
}

// fitLine finds the integer slope in [lo, hi] whose residuals
// d[i] - i*slope span the narrowest range, skipping the exceptions' lanes.
// That span is a convex function of the slope (the maximum of lines minus
// the minimum of lines), so a binary search on its discrete derivative
// finds the minimum. The search starts from the slope of the chunk's ends,
// s0: the best slope s* lies within span(s0)/(n-1) of it (the ends'
// residuals differ by at most span(s*) <= span(s0)), a window of a few
// slopes for values that follow a line. When span(s0) is already wider
// than the deltas' (random walks: it grows with the square root of n), no
// line is tried: ok is false.
func fitLine(d []int64, exc []int, lo, hi int64, wDelta uint) (slope, minR int64, w uint, ok bool) {
	span := func(s int64) (lo, hi int64) {
		lo, hi = math.MaxInt64, math.MinInt64
		k := 0
		for i, x := range d {
			if k < len(exc) && exc[k] == i {
				k++
				continue
			}
			r := x - int64(i)*s
			lo, hi = min(lo, r), max(hi, r)
		}
		return lo, hi
	}
	n := int64(len(d))
	s0 := (d[n-1] - d[0]) / (n - 1)
	r0, r1 := span(s0)
	if r0 > r1 { // every lane an exception
		return s0, 0, 0, false
	}
	if widthOf(uint64(r1-r0)) > wDelta+1 {
		return 0, 0, 0, false
	}
	win := (r1-r0)/(n-1) + 1
	lo, hi = max(lo, s0-win), min(hi, s0+win)
	for lo < hi {
		mid := lo + (hi-lo)/2
		a0, a1 := span(mid)
		b0, b1 := span(mid + 1)
		if b1-b0 >= a1-a0 {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	r0, r1 = span(lo)
	return lo, r0, widthOf(uint64(r1 - r0)), true
}

// binaryExponent returns the exponent E for which the values are integers
// times 2^E: the lowest set bit of any finite non-zero value, raised when
// the highest bit would otherwise be 2^62 or more (the values below it then
// become exceptions). ok is false without finite non-zero values.
func binaryExponent(vs []float64) (exp int, ok bool) {
	lo, hi := math.MaxInt, math.MinInt
	for _, v := range vs {
		b := math.Float64bits(v)
		ef := int(b >> 52 & 0x7ff)
		mant := b & (1<<52 - 1)
		if ef == 0x7ff || (ef == 0 && mant == 0) {
			continue
		}
		e0 := -1074
		if ef != 0 {
			mant |= 1 << 52
			e0 = ef - 1075
		}
		lo = min(lo, e0+bits.TrailingZeros64(mant))
		hi = max(hi, e0+bits.Len64(mant)-1)
	}
	if lo == math.MaxInt {
		return 0, false
	}
	return max(lo, hi-61), true
}

// appendBinary appends the binary layout of vs, every value an integer
// times 2^E (fixed point: full-precision gauges within a few binades, float
// counters), and returns the number of exceptions; ok is false when no
// exponent fits.
func (e *encoder) appendBinary(dst []byte, vs []float64) (_ []byte, nexc int, ok bool) {
	exp, ok := binaryExponent(vs)
	if !ok {
		return dst, 0, false
	}
	n := len(vs)
	scale := math.Ldexp(1, exp)
	d := growI64(e.d, n)
	e.d = d
	exc := e.exc[:0]
	var last int64
	have := false
	for i, v := range vs {
		x := math.Ldexp(v, -exp)
		if math.Abs(x) < 1<<62 && x == math.Trunc(x) {
			di := int64(x)
			if math.Float64bits(binaryValue(di, scale)) == math.Float64bits(v) {
				if !have {
					for _, j := range exc {
						d[j] = di
					}
					have = true
				}
				d[i], last = di, di
				continue
			}
		}
		exc = append(exc, i)
		d[i] = last
	}
	e.exc = exc
	if !have {
		return dst, 0, false
	}
	return e.appendInts(dst, vs, d, exc, true, exp), len(exc), true
}

// appendXOR appends the XOR layout: Gorilla's value encoding, with the
// leading-zero count capped at 31 as in Prometheus.
func appendXOR(dst []byte, vs []float64) []byte {
	dst = append(dst, valXOR)
	prev := math.Float64bits(vs[0])
	dst = binary.LittleEndian.AppendUint64(dst, prev)
	w := bitWriter{b: dst}
	var plz, ptz uint
	have := false
	for _, v := range vs[1:] {
		cur := math.Float64bits(v)
		x := cur ^ prev
		prev = cur
		if x == 0 {
			w.write(0, 1)
			continue
		}
		lz := min(uint(bits.LeadingZeros64(x)), 31)
		tz := uint(bits.TrailingZeros64(x))
		if have && lz >= plz && tz >= ptz {
			w.write(0b10, 2)
			w.write(x>>ptz, 64-plz-ptz)
			continue
		}
		sig := 64 - lz - tz
		w.write(0b11, 2)
		w.write(uint64(lz), 5)
		w.write(uint64(sig&63), 6) // 64 is stored as 0
		w.write(x>>tz, sig)
		plz, ptz, have = lz, tz, true
	}
	return w.finish()
}
