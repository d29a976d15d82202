package block

import (
	"fmt"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"

	ourchunks "mytsdb/storage/chunkenc"
)

// deletedCursor answers "is t deleted?" for increasing t in O(1) amortised.
type deletedCursor struct {
	iv Intervals
	i  int
}

func (c *deletedCursor) deleted(t int64) bool {
	for c.i < len(c.iv) && c.iv[c.i].Maxt < t {
		c.i++
	}
	return c.i < len(c.iv) && c.iv[c.i].Mint <= t
}

// sampleIterator iterates the samples of a series' chunks (sorted, disjoint
// in time), skipping those in deleted intervals (tombstones, and the parts
// outside the queried range unless trimming is off). It implements
// chunkenc.Iterator.
type sampleIterator struct {
	cr    *chunkReader
	chks  []chunkMeta
	del   deletedCursor
	next  int                // index of the next chunk to open
	it    chunkenc.Iterator  // the current chunk's; nil between chunks
	reuse chunkenc.Iterator  // kept for the next chunk of the same encoding
	vt    chunkenc.ValueType // of the current sample when it != nil
	// check: a deleted interval overlaps the current chunk, so its samples
	// are checked one by one (most chunks lie wholly inside the query's
	// range and skip the check and its interface call per sample).
	check bool
	done  bool
	err   error
}

func (s *sampleIterator) reset(cr *chunkReader, chks []chunkMeta, del Intervals) {
	*s = sampleIterator{cr: cr, chks: chks, del: deletedCursor{iv: del}, reuse: s.reuse}
}

// open opens the next chunk not wholly deleted.
func (s *sampleIterator) open() bool {
	for s.next < len(s.chks) {
		c := s.chks[s.next]
		s.next++
		if s.del.iv.covers(c.mint, c.maxt) {
			continue
		}
		chk, err := s.cr.chunk(c.ref, c.mint)
		if err != nil {
			s.fail(err)
			return false
		}
		s.it = chk.Iterator(s.reuse)
		s.reuse = s.it
		s.vt = chunkenc.ValNone
		s.check = s.del.iv.overlaps(c.mint, c.maxt)
		return true
	}
	s.finish()
	return false
}

func (s *sampleIterator) fail(err error) {
	s.err = err
	s.finish()
}

func (s *sampleIterator) finish() {
	s.done = true
	s.it = nil
	s.vt = chunkenc.ValNone
}

// exhausted handles the end of the current chunk's iterator.
func (s *sampleIterator) exhausted() {
	if err := s.it.Err(); err != nil {
		s.fail(fmt.Errorf("block: iterate chunk: %w", err))
		return
	}
	s.it = nil
}

func (s *sampleIterator) Next() chunkenc.ValueType {
	for !s.done {
		if s.it == nil && !s.open() {
			return chunkenc.ValNone
		}
		vt := s.it.Next()
		if vt == chunkenc.ValNone {
			s.exhausted()
			continue
		}
		if s.check && s.del.deleted(s.it.AtT()) {
			continue
		}
		s.vt = vt
		return vt
	}
	return chunkenc.ValNone
}

func (s *sampleIterator) Seek(t int64) chunkenc.ValueType {
	if s.done {
		return chunkenc.ValNone
	}
	if s.it != nil && s.vt != chunkenc.ValNone && s.it.AtT() >= t {
		return s.vt
	}
	if s.it != nil && s.chks[s.next-1].maxt < t {
		s.it = nil
	}
	if s.it == nil {
		for s.next < len(s.chks) && s.chks[s.next].maxt < t {
			s.next++
		}
		if !s.open() {
			return chunkenc.ValNone
		}
	}
	vt := s.it.Seek(t)
	if vt == chunkenc.ValNone {
		s.exhausted()
		return s.Next()
	}
	if s.check && s.del.deleted(s.it.AtT()) {
		return s.Next()
	}
	s.vt = vt
	return vt
}

func (s *sampleIterator) At() (int64, float64) { return s.it.At() }

func (s *sampleIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return s.it.AtHistogram(h)
}

func (s *sampleIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return s.it.AtFloatHistogram(fh)
}

func (s *sampleIterator) AtT() int64  { return s.it.AtT() }
func (s *sampleIterator) AtST() int64 { return s.it.AtST() }
func (s *sampleIterator) Err() error  { return s.err }

// chunkIterator iterates a series' chunks for a ChunkQuerier: a chunk that
// no deleted interval touches is returned as stored; one that overlaps a
// deleted interval is re-encoded without the deleted samples; a wholly
// deleted one is skipped. It implements chunks.Iterator.
type chunkIterator struct {
	cr      *chunkReader
	chks    []chunkMeta
	del     Intervals
	i       int
	cur     chunks.Meta
	pending []chunks.Meta
	err     error
}

func (c *chunkIterator) Next() bool {
	if c.err != nil {
		return false
	}
	if len(c.pending) > 0 {
		c.cur, c.pending = c.pending[0], c.pending[1:]
		return true
	}
	for c.i < len(c.chks) {
		m := c.chks[c.i]
		c.i++
		if c.del.covers(m.mint, m.maxt) {
			continue
		}
		chk, err := c.cr.chunk(m.ref, m.mint)
		if err != nil {
			c.err = err
			return false
		}
		if !c.del.overlaps(m.mint, m.maxt) {
			c.cur = chunks.Meta{Ref: chunks.ChunkRef(m.ref), MinTime: m.mint, MaxTime: m.maxt, Chunk: chk}
			return true
		}
		out, err := reencode(chk, c.del, nil)
		if err != nil {
			c.err = err
			return false
		}
		if len(out) == 0 {
			continue
		}
		c.cur, c.pending = out[0], out[1:]
		return true
	}
	return false
}

func (c *chunkIterator) At() chunks.Meta { return c.cur }
func (c *chunkIterator) Err() error      { return c.err }

// reencode appends to dst the samples of chk outside del, in new chunks of
// chk's encoding (more than one only if a histogram sample cannot be
// appended to the chunk before it, which deleting samples does not cause).
func reencode(chk chunkenc.Chunk, del Intervals, dst []chunks.Meta) ([]chunks.Meta, error) {
	var (
		cur  = deletedCursor{iv: del}
		it   = chk.Iterator(nil)
		out  chunkenc.Chunk
		app  chunkenc.Appender
		meta chunks.Meta
		err  error
	)
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		t := it.AtT()
		if cur.deleted(t) {
			continue
		}
		if out == nil {
			if out, err = ourchunks.NewEmptyChunk(chk.Encoding()); err != nil {
				return dst, err
			}
			if app, err = out.Appender(); err != nil {
				return dst, err
			}
			meta = chunks.Meta{MinTime: t}
		}
		st := it.AtST()
		var next chunkenc.Chunk
		var recoded bool
		switch vt {
		case chunkenc.ValFloat:
			_, v := it.At()
			app.Append(st, t, v)
		case chunkenc.ValHistogram:
			_, h := it.AtHistogram(nil)
			next, recoded, app, err = app.AppendHistogram(nil, st, t, h, false)
		case chunkenc.ValFloatHistogram:
			_, fh := it.AtFloatHistogram(nil)
			next, recoded, app, err = app.AppendFloatHistogram(nil, st, t, fh, false)
		}
		if err != nil {
			return dst, fmt.Errorf("block: re-encode chunk: %w", err)
		}
		if next != nil {
			if !recoded {
				meta.Chunk = out
				dst = append(dst, meta)
				meta = chunks.Meta{MinTime: t}
			}
			out = next
		}
		meta.MaxTime = t
	}
	if err := it.Err(); err != nil {
		return dst, fmt.Errorf("block: iterate chunk: %w", err)
	}
	if out != nil {
		out.Compact() // Ours then drops its sample buffers.
		meta.Chunk = out
		dst = append(dst, meta)
	}
	return dst, nil
}

// TrimChunk appends to dst chk's samples within [mint, maxt], re-encoded
// as Prometheus's chunk queriers re-encode a chunk a query's range cuts
// (the blocks' own chunk querier does so; the tenant's querier applies it
// to the head's chunks too).
func TrimChunk(chk chunkenc.Chunk, mint, maxt int64, dst []chunks.Meta) ([]chunks.Meta, error) {
	return reencode(chk, Intervals(nil).trimmed(mint, maxt), dst)
}
