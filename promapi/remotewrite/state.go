package remotewrite

import (
	"errors"
	"io"
	"slices"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// maxPooledBuffer bounds the buffers a pooled reqState keeps: a rare huge
// request must not pin its memory forever.
const maxPooledBuffer = 8 << 20

// reqState is everything one request needs; handlers pool it so that steady
// traffic allocates nothing per sample.
type reqState struct {
	body    []byte // compressed request body
	decoded []byte // snappy output; the decoded requests alias it
	v1      v1Request
	v2      v2Request
	pairs   []bytesLabel // 2.0 series label pairs resolved from symbols
	exPairs []bytesLabel // 2.0 exemplar label pairs
	sb      labels.ScratchBuilder
	seeds   hashSeeds
	key     []byte       // seriesKey of the current 1.0 series
	syms    []seriesHash // hashes of the 2.0 symbols
	hits    []cacheEntry // per series of the request
	ex      []exemplar.Exemplar
	pending []pendingRef // cache updates applied after a successful commit
}

// pendingRef is a series ref to cache once the appender commits.
type pendingRef struct {
	hash seriesHash
	ref  storage.SeriesRef
}

func newReqState(seeds hashSeeds) *reqState {
	return &reqState{sb: labels.NewScratchBuilder(16), seeds: seeds}
}

// reset readies st for the next request. Decoded strings alias st.decoded,
// which st keeps, so they are only cleared when that buffer is dropped (it
// must not stay pinned by stale strings).
func (st *reqState) reset() {
	st.v1.reset()
	st.v2.reset()
	st.pairs, st.exPairs = st.pairs[:0], st.exPairs[:0]
	clear(st.ex) // owned labels; drop them early
	st.ex = st.ex[:0]
	st.pending = st.pending[:0]
	st.sb.Reset()
	if cap(st.body) > maxPooledBuffer {
		st.body = nil
	}
	if cap(st.decoded) > maxPooledBuffer {
		st.decoded = nil
		clear(st.v1.labels[:cap(st.v1.labels)])
		clear(st.v1.exLabels[:cap(st.v1.exLabels)])
		clear(st.v2.symbols[:cap(st.v2.symbols)])
		clear(st.pairs[:cap(st.pairs)])
		clear(st.exPairs[:cap(st.exPairs)])
	}
	st.body, st.decoded = st.body[:0], st.decoded[:0]
}

var errBodyTooLarge = errors.New("body too large")

// readBody reads r into st.body, reading at most limit+1 bytes; sizeHint is
// the Content-Length (or -1).
func (st *reqState) readBody(r io.Reader, sizeHint, limit int64) error {
	b := st.body[:0]
	if sizeHint > 0 && sizeHint <= limit && int64(cap(b)) < sizeHint+1 {
		b = make([]byte, 0, sizeHint+1) // +1 so that EOF needs no growth
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):cap(b)]
		if over := int64(len(b)) + int64(len(room)) - (limit + 1); over > 0 {
			room = room[:int64(len(room))-over]
		}
		n, err := r.Read(room)
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			st.body = b
			return errBodyTooLarge
		}
		if err == io.EOF {
			st.body = b
			return nil
		}
		if err != nil {
			st.body = b
			return err
		}
	}
}

// build returns the sorted labels of pairs (the only allocation of a
// series that misses the cache).
func (st *reqState) build(pairs []bytesLabel) labels.Labels {
	st.sb.Reset()
	for _, p := range pairs {
		addLabel(&st.sb, p.name, p.value)
	}
	st.sb.Sort()
	return st.sb.Labels()
}

// cacheEntry is the ref cache's answer for one series of a request, looked up
// for all series before appending any so that the CPU overlaps the cache
// misses of independent lookups.
type cacheEntry struct {
	hash   seriesHash
	ref    storage.SeriesRef // 0: miss
	hashed bool              // hash is valid (a cache is in use and the labels parse)
}

// lookupV1 fills st.hits for a 1.0 request.
func (st *reqState) lookupV1(c *refCache) {
	r := &st.v1
	st.hits = slices.Grow(st.hits[:0], len(r.series))[:len(r.series)]
	for si := range r.series {
		e := &st.hits[si]
		if c == nil {
			*e = cacheEntry{}
			continue
		}
		s := &r.series[si]
		st.key = seriesKey(st.key, r.labels[s.labels.lo:s.labels.hi])
		e.hash, e.hashed = hashKey128(st.seeds, st.key), true
	}
	if c != nil {
		c.getAll(st.hits)
	}
}

// lookupV2 fills st.hits for a 2.0 request, hashing every symbol once.
func (st *reqState) lookupV2(c *refCache) {
	r := &st.v2
	st.hits = slices.Grow(st.hits[:0], len(r.series))[:len(r.series)]
	if c == nil {
		clear(st.hits)
		return
	}
	st.syms = slices.Grow(st.syms[:0], len(r.symbols))[:len(r.symbols)]
	for i, sym := range r.symbols {
		st.syms[i] = symbolHash(st.seeds, sym)
	}
	for si := range r.series {
		e := &st.hits[si]
		ts := &r.series[si]
		e.hash, e.hashed = hashSymbols(r.refs[ts.labelRefs.lo:ts.labelRefs.hi], st.syms)
	}
	c.getAll(st.hits)
}

// remember queues a cache update for a series whose final ref differs from
// the cached one.
func (st *reqState) remember(e *cacheEntry, ref storage.SeriesRef) {
	if !e.hashed || ref == 0 || ref == e.ref {
		return
	}
	st.pending = append(st.pending, pendingRef{hash: e.hash, ref: ref})
}

// flush applies the queued cache updates; call it after a successful commit.
func (st *reqState) flush(c *refCache) {
	if c == nil {
		return
	}
	for _, p := range st.pending {
		c.put(p.hash, p.ref)
	}
}
