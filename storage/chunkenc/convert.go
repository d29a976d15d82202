package chunkenc

import (
	"fmt"

	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// ToXOR re-encodes the float samples of c as an upstream XOR chunk, for the
// protocols that carry Prometheus chunks (streamed remote read, export).
func ToXOR(c upstream.Iterable) (*upstream.XORChunk, error) {
	x := upstream.NewXORChunk()
	app, err := x.Appender()
	if err != nil {
		return nil, fmt.Errorf("XOR appender: %w", err)
	}
	it := c.Iterator(nil)
	n := 0
	for typ := it.Next(); typ != upstream.ValNone; typ = it.Next() {
		if typ != upstream.ValFloat {
			return nil, fmt.Errorf("convert to XOR: sample %d is a %s, not a float", n, typ)
		}
		if n == MaxSamples {
			return nil, fmt.Errorf("convert to XOR: more than %d samples", MaxSamples)
		}
		t, v := it.At()
		app.Append(0, t, v)
		n++
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("convert to XOR after %d samples: %w", n, err)
	}
	return x, nil
}

// FromXOR re-encodes the float samples of c (an upstream XOR chunk, or any
// float chunk) in our encoding, sealed (Compact has been called).
func FromXOR(c upstream.Iterable) (*FloatChunk, error) {
	out := NewFloatChunk()
	it := c.Iterator(nil)
	for typ := it.Next(); typ != upstream.ValNone; typ = it.Next() {
		if typ != upstream.ValFloat {
			return nil, fmt.Errorf("convert from XOR: sample %d is a %s, not a float", len(out.ts), typ)
		}
		if len(out.ts) == MaxSamples {
			return nil, fmt.Errorf("convert from XOR: more than %d samples", MaxSamples)
		}
		t, v := it.At()
		out.ts = append(out.ts, t)
		out.vs = append(out.vs, v)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("convert from XOR after %d samples: %w", len(out.ts), err)
	}
	out.dirty = true
	out.Compact()
	return out, nil
}
