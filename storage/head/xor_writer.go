package head

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// xorWriter encodes the open float chunk of a series, inline in memSeries:
// it produces exactly the bytes of Prometheus's XOR chunk (tsdb/chunkenc,
// checked bit for bit by FuzzXORWriter), but keeps its state in the series
// instead of behind the chunk and appender objects, gathers the bits of the
// stream in a 64-bit accumulator (so an append reads nothing but the
// series, and stores a whole word into the chunk's buffer only when the
// accumulator fills), and writes the 2-byte sample count only when the bytes
// are read (bytes) or the chunk is sealed.
type xorWriter struct {
	// The fields every append reads come first (see memSeries).
	acc      uint64 // the stream's next bits, left-aligned
	v        float64
	t        int64
	tDelta   uint64
	num      uint16
	nacc     uint8 // bits in acc (0..63)
	leading  uint8
	trailing uint8
	b        []byte // the chunk: 2 header bytes (stale until bytes/seal), then the full words of the stream
}

// xorInitialCap is the capacity of a new chunk's buffer: a few samples fit,
// append grows it as the chunk fills (Prometheus starts at 128 bytes).
const xorInitialCap = 32

// xorSizeClasses are the Go allocator's size classes from xorInitialCap up
// to past the largest chunk (MaxBytesPerXORChunkBeforeAppend plus one
// sample): a buffer of one of these sizes wastes nothing to rounding.
var xorSizeClasses = [...]uint16{
	32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024,
	1152, 1280, 1408, 1536, 1792, 2048,
}

// grow makes room for one more word. The open chunks of all series are a
// large part of the head's memory and append's doubling leaves them about
// a quarter empty on average: grow by half instead, to a size class, which
// leaves about a sixth empty and costs two more small copies per chunk
// (growing by a quarter saves a little more memory but costs five more, a
// measurable slowdown of WAL replay).
func (x *xorWriter) grow() {
	c := cap(x.b)
	want := c + max(c/2, 16)
	n := want
	for _, sc := range xorSizeClasses {
		if int(sc) >= want {
			n = int(sc)
			break
		}
	}
	b := make([]byte, len(x.b), n)
	copy(b, x.b)
	x.b = b
}

// reset starts a new, empty chunk.
func (x *xorWriter) reset() {
	*x = xorWriter{b: make([]byte, 2, xorInitialCap), leading: 0xff}
}

// clear drops the chunk (the series has no open float chunk).
func (x *xorWriter) clear() { *x = xorWriter{} }

// size is the chunk's length in bytes.
func (x *xorWriter) size() int { return len(x.b) + (int(x.nacc)+7)>>3 }

// bytes returns the chunk's bytes with the header and the pending bits
// written out. They alias the writer's buffer (the pending bits are written
// past its length): clone them before the next append.
func (x *xorWriter) bytes() []byte {
	binary.BigEndian.PutUint16(x.b, x.num)
	n := (int(x.nacc) + 7) >> 3
	out := x.b
	for i := range n {
		out = append(out, byte(x.acc>>(56-8*uint(i))))
	}
	if cap(out) != cap(x.b) { // append reallocated: keep the larger buffer.
		x.b = out[:len(x.b)]
	}
	return out
}

// seal returns the finished chunk's bytes, trimmed of spare capacity like
// Prometheus's Compact, and clears the writer.
func (x *xorWriter) seal() []byte {
	b := x.bytes()
	if cap(b) > len(b)+32 {
		b = append(make([]byte, 0, len(b)), b...)
	}
	x.clear()
	return b
}

// writeBits writes the nbits (1..64) low bits of u, most significant first.
func (x *xorWriter) writeBits(u uint64, nbits int) {
	u <<= 64 - uint(nbits) // Left-align; the bits above nbits are dropped.
	n := int(x.nacc)
	x.acc |= u >> uint(n) // Go defines a shift by 64 as 0.
	if n+nbits < 64 {
		x.nacc = uint8(n + nbits)
		return
	}
	if len(x.b)+8 > cap(x.b) {
		x.grow()
	}
	x.b = binary.BigEndian.AppendUint64(x.b, x.acc)
	x.acc = u << uint(64-n) // The bits that did not fit (0 when n is 0).
	x.nacc = uint8(n + nbits - 64)
}

// writeBytes writes whole bytes at the current bit position.
func (x *xorWriter) writeBytes(p []byte) {
	for _, c := range p {
		x.writeBits(uint64(c), 8)
	}
}

// append adds a sample; t must be larger than the last one's and the chunk
// must hold fewer than math.MaxUint16 samples.
func (x *xorWriter) append(t int64, v float64) {
	var tDelta uint64
	switch x.num {
	case 0:
		var buf [binary.MaxVarintLen64]byte
		x.writeBytes(buf[:binary.PutVarint(buf[:], t)])
		x.writeBits(math.Float64bits(v), 64)
	case 1:
		tDelta = uint64(t - x.t)
		var buf [binary.MaxVarintLen64]byte
		x.writeBytes(buf[:binary.PutUvarint(buf[:], tDelta)])
		x.writeValue(v)
	default:
		tDelta = uint64(t - x.t)
		dod := int64(tDelta - x.tDelta)
		switch {
		case dod == 0:
			x.writeBits(0, 1)
		case bitRange(dod, 14):
			x.writeBits(0b10<<14|uint64(dod)&(1<<14-1), 16)
		case bitRange(dod, 17):
			x.writeBits(0b110<<17|uint64(dod)&(1<<17-1), 20)
		case bitRange(dod, 20):
			x.writeBits(0b1110<<20|uint64(dod)&(1<<20-1), 24)
		default:
			x.writeBits(0b1111, 4)
			x.writeBits(uint64(dod), 64)
		}
		x.writeValue(v)
	}
	x.t, x.v, x.tDelta = t, v, tDelta
	x.num++
}

func bitRange(x int64, nbits uint8) bool {
	return -((1<<(nbits-1))-1) <= x && x <= 1<<(nbits-1)
}

// writeValue is Prometheus's xorWrite.
func (x *xorWriter) writeValue(v float64) {
	delta := math.Float64bits(v) ^ math.Float64bits(x.v)
	if delta == 0 {
		x.writeBits(0, 1)
		return
	}
	leading := uint8(bits.LeadingZeros64(delta))
	trailing := uint8(bits.TrailingZeros64(delta))
	if leading >= 32 {
		leading = 31 // It must fit in 5 bits.
	}
	if x.leading != 0xff && leading >= x.leading && trailing >= x.trailing {
		sig := 64 - int(x.leading) - int(x.trailing)
		if sig <= 62 {
			x.writeBits(0b10<<uint(sig)|delta>>x.trailing, sig+2)
		} else {
			x.writeBits(0b10, 2)
			x.writeBits(delta>>x.trailing, sig)
		}
		return
	}
	x.leading, x.trailing = leading, trailing
	sig := 64 - int(leading) - int(trailing)
	// 0b11, 5 bits of leading zeros, 6 bits of significant bits (64 is
	// written as 0), then the significant bits.
	x.writeBits(0b11<<11|uint64(leading)<<6|uint64(sig)&63, 13)
	x.writeBits(delta>>trailing, sig)
}
