package parquetstore

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/thanos-io/objstore"
)

// pieceSize is the unit of caching and fetching: every GetRange starts and
// ends on a piece boundary (or the object's end), so that neighbouring
// reads share what was fetched.
const pieceSize = 32 << 10

// rangeReader is an io.ReaderAt over one object, reading through the cache
// with GetRange. It keeps the pieces of its last fetch itself, so that a
// cache smaller than one read still makes progress.
type rangeReader struct {
	ctx   context.Context
	bkt   objstore.BucketReader
	name  string
	size  int64
	cache *cache
	m     *metrics

	// The pieces of the last fetch; guarded because a cached parquet.File
	// keeps its opening reader and may read through it from any goroutine.
	mu     sync.Mutex
	recent map[int64][]byte
}

func newRangeReader(ctx context.Context, bkt objstore.BucketReader, name string, size int64, c *cache, m *metrics) *rangeReader {
	return &rangeReader{ctx: ctx, bkt: bkt, name: name, size: size, cache: c, m: m}
}

func (r *rangeReader) piece(i int64) ([]byte, bool) {
	r.mu.Lock()
	b, ok := r.recent[i]
	r.mu.Unlock()
	if ok {
		return b, true
	}
	v, ok := r.cache.get(cacheKey{object: r.name, n: i})
	if !ok {
		return nil, false
	}
	return v.([]byte), true
}

// ReadAt implements io.ReaderAt.
func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset %d", r.name, off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), r.size)
	if err := r.fetch([]byteRange{{off, end}}); err != nil {
		return 0, err
	}
	n := 0
	for pos := off; pos < end; {
		i := pos / pieceSize
		b, ok := r.piece(i)
		if !ok {
			// Evicted by another reader since fetch: fetch it alone.
			one := map[int64][]byte{}
			if err := r.getRange(i, i, one); err != nil {
				return n, err
			}
			b = one[i]
		}
		start := pos - i*pieceSize
		if start >= int64(len(b)) {
			return n, fmt.Errorf("%s: short piece %d", r.name, i)
		}
		c := copy(p[n:], b[start:])
		n += c
		pos += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// byteRange is [start, end) of an object.
type byteRange struct{ start, end int64 }

// fetch makes sure every piece the ranges touch is cached, fetching missing
// pieces with one GetRange per run of them. Runs separated by at most
// maxGapPieces cached-or-unneeded pieces are fetched as one: a request
// costs more than a few pieces' bytes.
func (r *rangeReader) fetch(ranges []byteRange) error {
	var need []int64
	for _, br := range ranges {
		if br.end <= br.start {
			continue
		}
		for i := br.start / pieceSize; i <= (min(br.end, r.size)-1)/pieceSize; i++ {
			if _, ok := r.piece(i); !ok {
				need = append(need, i)
			}
		}
	}
	if len(need) == 0 {
		return nil
	}
	sort.Slice(need, func(a, b int) bool { return need[a] < need[b] })
	const maxGapPieces = 2
	recent := map[int64][]byte{}
	for i := 0; i < len(need); {
		j := i
		for j+1 < len(need) && need[j+1]-need[j] <= maxGapPieces+1 {
			j++
		}
		first, last := need[i], need[j]
		if err := r.getRange(first, last, recent); err != nil {
			return err
		}
		i = j + 1
	}
	r.mu.Lock()
	r.recent = recent
	r.mu.Unlock()
	return nil
}

func (r *rangeReader) getRange(first, last int64, into map[int64][]byte) error {
	start := first * pieceSize
	end := min((last+1)*pieceSize, r.size)
	r.m.getRangeCalls.Inc()
	rc, err := r.bkt.GetRange(r.ctx, r.name, start, end-start)
	if err != nil {
		return fmt.Errorf("get range %s [%d, %d): %w", r.name, start, end, err)
	}
	defer rc.Close()
	// Read what arrives rather than allocating what meta.json claims: a
	// damaged meta.json must not make us allocate gigabytes.
	buf, err := io.ReadAll(io.LimitReader(rc, end-start))
	r.m.getRangeBytes.Add(float64(len(buf)))
	if err != nil {
		return fmt.Errorf("get range %s [%d, %d): read %d bytes: %w", r.name, start, end, len(buf), err)
	}
	if int64(len(buf)) != end-start {
		return fmt.Errorf("get range %s [%d, %d): %w: object ends after %d bytes", r.name, start, end, ErrCorrupt, start+int64(len(buf)))
	}
	for i := first; i <= last; i++ {
		b := buf[(i-first)*pieceSize : min((i-first+1)*pieceSize, int64(len(buf)))]
		into[i] = b
		r.cache.put(cacheKey{object: r.name, n: i}, b, int64(len(b)))
	}
	return nil
}
