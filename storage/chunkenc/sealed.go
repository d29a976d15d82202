package chunkenc

import (
	"encoding/binary"
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

// NewSealedChunkAt wraps b, an encoded chunk without its first timestamp
// (ElideFirstTimestamp), whose first timestamp is t0: the block format
// stores chunks so, since the index holds every chunk's first timestamp.
// The chunk is read-only like a SealedChunk (Appender fails with
// ErrSealed) and its Bytes give the whole encoding back, allocating it
// each time. b must not change afterwards.
func NewSealedChunkAt(b []byte, t0 int64) upstream.Chunk { return &elidedChunk{b: b, t0: t0} }

// elidedChunk is NewSealedChunkAt's chunk: a type of its own, so that
// SealedChunk, of which the head holds many, stays 24 bytes.
type elidedChunk struct {
	b  []byte
	t0 int64
}

func (*elidedChunk) Encoding() upstream.Encoding { return EncFloat }

func (c *elidedChunk) Bytes() []byte {
	if len(c.b) < headerSize {
		return c.b
	}
	b := make([]byte, 0, len(c.b)+binary.MaxVarintLen64)
	b = append(b, c.b[:headerSize]...)
	b = binary.AppendVarint(b, c.t0)
	return append(b, c.b[headerSize:]...)
}

func (c *elidedChunk) NumSamples() int { return numSamples(c.b) }

func (*elidedChunk) Compact() {}

// Reset takes stream as an elided chunk with the same first timestamp.
func (c *elidedChunk) Reset(stream []byte) { c.b = stream }

func (*elidedChunk) Appender() (upstream.Appender, error) { return nil, ErrSealed }

func (c *elidedChunk) Iterator(it upstream.Iterator) upstream.Iterator {
	fi, ok := it.(*floatIterator)
	if !ok {
		fi = &floatIterator{}
	}
	fi.resetElided(c.b, c.t0)
	return fi
}

// ElideFirstTimestamp appends b, an encoded chunk (AppendEncoded), without
// its first timestamp to dst and returns that timestamp; an empty chunk is
// an error (it has none). NewSealedChunkAt reads the result.
func ElideFirstTimestamp(dst, b []byte) ([]byte, int64, error) {
	if numSamples(b) == 0 {
		return dst, 0, errors.New("elide the first timestamp of a mytsdb float chunk: no samples")
	}
	t0, k := binary.Varint(b[headerSize:])
	if k <= 0 {
		return dst, 0, corruptf(headerSize, "first timestamp: bad varint")
	}
	dst = append(dst, b[:headerSize]...)
	return append(dst, b[headerSize+k:]...), t0, nil
}

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
