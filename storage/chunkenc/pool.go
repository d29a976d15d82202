package chunkenc

import (
	"fmt"
	"sync"

	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// pool reuses FloatChunks and hands every other encoding to upstream's pool.
type pool struct {
	upstream upstream.Pool
	float    sync.Pool
}

// NewPool returns an upstream.Pool that also knows EncFloat.
func NewPool() upstream.Pool {
	return &pool{
		upstream: upstream.NewPool(),
		float:    sync.Pool{New: func() any { return new(FloatChunk) }},
	}
}

func (p *pool) Get(e upstream.Encoding, b []byte) (upstream.Chunk, error) {
	if e != EncFloat {
		c, err := p.upstream.Get(e, b)
		if err != nil {
			return nil, fmt.Errorf("chunk pool: %w", err)
		}
		return c, nil
	}
	c := p.float.Get().(*FloatChunk)
	c.Reset(b)
	return c, nil
}

func (p *pool) Put(c upstream.Chunk) error {
	if fc, ok := c.(*FloatChunk); ok {
		fc.Reset(nil)
		p.float.Put(fc)
		return nil
	}
	return p.upstream.Put(c)
}
