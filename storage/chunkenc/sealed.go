package chunkenc

import (
	"errors"
	"fmt"

	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// AppendEncoded appends to dst the encoding of the samples (ts[i], vs[i]),
// the bytes a FloatChunk holding them returns from Bytes, and returns the
// extended slice. It allocates nothing when dst has room (VictoriaMetrics's
// Marshal style): callers that encode many chunks, such as the block writer,
// reuse one buffer.
func AppendEncoded(dst []byte, ts []int64, vs []float64) ([]byte, error) {
	if len(ts) != len(vs) {
		return dst, fmt.Errorf("encode mytsdb float chunk: %d timestamps, %d values", len(ts), len(vs))
	}
	if len(ts) > MaxSamples {
		return dst, fmt.Errorf("encode mytsdb float chunk: %d samples, more than %d", len(ts), MaxSamples)
	}
	return appendChunk(dst, ts, vs), nil
}

// ErrSealed is returned by SealedChunk.Appender.
var ErrSealed = errors.New("mytsdb float chunk is sealed: it cannot be appended to")

// SealedChunk is an immutable chunk of encoding EncFloat held as its bytes
// alone: 24 bytes beside them, where a FloatChunk takes 80. It is for chunks
// that are never appended to again (the head's cut chunks), of which there
// are many. Its methods only read, so it is safe for concurrent use.
type SealedChunk struct{ b []byte }

var _ upstream.Chunk = (*SealedChunk)(nil)

// NewSealedChunk wraps the encoded chunk b (the output of AppendEncoded or
// FloatChunk.Bytes), which must not change afterwards. b is not checked
// here: a corrupt chunk fails its iterator with ErrCorrupt.
func NewSealedChunk(b []byte) *SealedChunk { return &SealedChunk{b: b} }

// Encoding implements upstream.Chunk.
func (*SealedChunk) Encoding() upstream.Encoding { return EncFloat }

// Bytes implements upstream.Chunk.
func (c *SealedChunk) Bytes() []byte { return c.b }

// NumSamples implements upstream.Chunk.
func (c *SealedChunk) NumSamples() int { return numSamples(c.b) }

// Compact implements upstream.Chunk: a sealed chunk is compact already.
func (*SealedChunk) Compact() {}

// Reset implements upstream.Chunk (the chunk then holds stream).
func (c *SealedChunk) Reset(stream []byte) { c.b = stream }

// Appender implements upstream.Chunk: it fails with ErrSealed. Decode into
// a FloatChunk (FromData) to append.
func (*SealedChunk) Appender() (upstream.Appender, error) { return nil, ErrSealed }

// Iterator implements upstream.Iterable; it reuses it when it is one of ours.
func (c *SealedChunk) Iterator(it upstream.Iterator) upstream.Iterator {
	fi, ok := it.(*floatIterator)
	if !ok {
		fi = &floatIterator{}
	}
	fi.resetEncoded(c.b)
	return fi
}
