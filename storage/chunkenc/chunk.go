package chunkenc

import (
	"bytes"
	"fmt"
	"sync"
	"unsafe"

	"github.com/prometheus/prometheus/model/histogram"
	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// EncFloat is the encoding byte of FloatChunk. Upstream uses 0..6 and marks
// out-of-order head chunks with the top bit (0x80), so 0x20 leaves room on
// both sides.
const EncFloat upstream.Encoding = 0x20

// EncodingString names e, ours included.
func EncodingString(e upstream.Encoding) string {
	if e == EncFloat {
		return "mytsdb-float"
	}
	return e.String()
}

// FloatChunk is a chunk of float samples in mytsdb's encoding. It is either
// open (samples buffered in ts/vs, b encoded from them when asked) or sealed
// (only b).
type FloatChunk struct {
	b     []byte // encoding of the samples; stale while dirty
	ts    []int64
	vs    []float64
	open  bool // ts/vs hold every sample
	dirty bool // ts/vs changed since b was encoded
}

var _ upstream.Chunk = (*FloatChunk)(nil)

// NewFloatChunk returns an empty chunk.
func NewFloatChunk() *FloatChunk {
	return &FloatChunk{b: []byte{0, 0}, open: true}
}

// newSealed wraps encoded bytes, as FromData does.
func newSealed(b []byte) (*FloatChunk, error) {
	if len(b) < headerSize {
		return nil, fmt.Errorf("mytsdb float chunk of %d bytes: %w", len(b), ErrCorrupt)
	}
	return &FloatChunk{b: b}, nil
}

// Encoding implements upstream.Chunk.
func (*FloatChunk) Encoding() upstream.Encoding { return EncFloat }

// Bytes returns the encoded chunk. After an append it encodes into a new
// slice, so earlier results stay valid and unchanged.
func (c *FloatChunk) Bytes() []byte {
	if c.dirty {
		// Encode into pooled scratch, then keep an exact-size copy: one
		// allocation, and no slack to trim in Compact.
		buf := bytesPool.Get().(*[]byte)
		*buf = appendChunk((*buf)[:0], c.ts, c.vs)
		c.b = bytes.Clone(*buf)
		bytesPool.Put(buf)
		c.dirty = false
	}
	return c.b
}

// NumSamples implements upstream.Chunk.
func (c *FloatChunk) NumSamples() int {
	if c.open {
		return len(c.ts)
	}
	return numSamples(c.b)
}

// Compact encodes the chunk and drops its sample buffer: a cut chunk then
// costs its encoded size. Appending later decodes it again.
func (c *FloatChunk) Compact() {
	if c.open {
		c.Bytes()
		c.ts, c.vs, c.open = nil, nil, false
	}
}

// Reset makes the chunk hold the encoded stream (nil: empty).
func (c *FloatChunk) Reset(stream []byte) {
	if len(stream) == 0 {
		stream = emptyChunk[:headerSize:headerSize]
	}
	*c = FloatChunk{b: stream}
}

// Appender implements upstream.Chunk; a sealed chunk is decoded first.
func (c *FloatChunk) Appender() (upstream.Appender, error) {
	if err := c.reopen(); err != nil {
		return nil, err
	}
	return &floatAppender{c: c}, nil
}

// reopen decodes a sealed chunk into its sample buffers.
func (c *FloatChunk) reopen() error {
	if c.open {
		return nil
	}
	n := numSamples(c.b)
	ts, vs := newBuffers(n, max(n, initialCap))
	if err := decodeChunk(c.b, ts, vs, make([]uint64, scratchLen(n))); err != nil {
		return fmt.Errorf("open mytsdb float chunk for appending: %w", err)
	}
	c.ts, c.vs, c.open = ts, vs, true
	return nil
}

// Iterator implements upstream.Iterable; it reuses it when it is one of ours.
func (c *FloatChunk) Iterator(it upstream.Iterator) upstream.Iterator {
	fi, ok := it.(*floatIterator)
	if !ok {
		fi = &floatIterator{}
	}
	if c.open {
		n := len(c.ts)
		fi.resetDecoded(c.ts[:n:n], c.vs[:n:n])
	} else {
		fi.resetEncoded(c.b)
	}
	return fi
}

const initialCap = 128

// emptyChunk is the encoding of no samples, shared by reset chunks; the
// full slice expression makes any append copy it.
var emptyChunk = [headerSize]byte{}

var bytesPool = sync.Pool{New: func() any { return new([]byte) }}

type floatAppender struct{ c *FloatChunk }

// Append adds a sample; st is not stored. It panics when the chunk is full.
func (a *floatAppender) Append(_, t int64, v float64) {
	c := a.c
	if !c.open {
		// Compact was called since the appender was made (upstream allows
		// appending after it). The bytes decoded when the appender was
		// made, so this cannot fail unless Reset put other bytes in: then
		// the chunk starts over with this sample.
		if c.reopen() != nil {
			c.ts, c.vs, c.open = nil, nil, true
		}
	}
	n := len(c.ts)
	if n == cap(c.ts) {
		if n >= MaxSamples {
			panic("chunk capacity exceeded")
		}
		ts, vs := newBuffers(n, min(max(initialCap, 2*n), MaxSamples))
		copy(ts, c.ts)
		copy(vs, c.vs)
		c.ts, c.vs = ts, vs
	}
	c.ts = c.ts[:n+1]
	c.vs = c.vs[:n+1]
	c.ts[n], c.vs[n] = t, v
	c.dirty = true
}

// newBuffers returns timestamp and value buffers of length n and capacity
// capacity, both in one allocation: for a chunk of Prometheus's default 120
// samples, one allocation in all. The two never overlap: each slice's
// capacity ends where the other begins.
func newBuffers(n, capacity int) ([]int64, []float64) {
	buf := make([]uint64, 2*capacity)
	ts := unsafe.Slice((*int64)(unsafe.Pointer(&buf[0])), capacity)
	vs := unsafe.Slice((*float64)(unsafe.Pointer(&buf[capacity])), capacity)
	return ts[:n], vs[:n]
}

func (*floatAppender) AppendHistogram(upstream.Appender, int64, int64, *histogram.Histogram, bool) (upstream.Chunk, bool, upstream.Appender, error) {
	panic("appended a histogram sample to a float chunk")
}

func (*floatAppender) AppendFloatHistogram(upstream.Appender, int64, int64, *histogram.FloatHistogram, bool) (upstream.Chunk, bool, upstream.Appender, error) {
	panic("appended a float histogram sample to a float chunk")
}

// FromData returns the chunk of encoding e held in d: ours for EncFloat,
// upstream's for its encodings. d is read lazily and must not change.
func FromData(e upstream.Encoding, d []byte) (upstream.Chunk, error) {
	if e == EncFloat {
		return newSealed(d)
	}
	return upstream.FromData(e, d)
}

// NewEmptyChunk returns an empty chunk of encoding e (ours or upstream's).
func NewEmptyChunk(e upstream.Encoding) (upstream.Chunk, error) {
	if e == EncFloat {
		return NewFloatChunk(), nil
	}
	return upstream.NewEmptyChunk(e)
}

// IsValidEncoding reports whether FromData accepts e.
func IsValidEncoding(e upstream.Encoding) bool {
	return e == EncFloat || upstream.IsValidEncoding(e)
}
