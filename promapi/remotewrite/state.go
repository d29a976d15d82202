package remotewrite

import (
	"errors"
	"hash/maphash"
	"io"

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
	seed    maphash.Seed
	key     []byte // seriesKey of the current series
	cmp     []byte // scratch for labelsEqualKey
	ex      []exemplar.Exemplar
	pending []pendingRef // cache updates applied after a successful commit
}

// pendingRef is a series ref to cache once the appender commits.
type pendingRef struct {
	hash uint64
	e    refEntry
}

func newReqState(seed maphash.Seed) *reqState {
	return &reqState{sb: labels.NewScratchBuilder(16), seed: seed}
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
	clear(st.pending)
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

// lookup returns the labels and cached ref of a series given as pairs. On a
// miss it builds sorted labels (the only allocation of a series) and returns
// ref 0 and hit false. A nil cache always misses.
func (st *reqState) lookup(pairs []bytesLabel, c *refCache) (ls labels.Labels, ref storage.SeriesRef, hash uint64, hit bool) {
	if c != nil {
		st.key = seriesKey(st.key, pairs)
		hash = hashKey(st.seed, st.key)
		if e, ok := c.get(hash); ok && labelsEqualKey(e.lset, st.key, &st.cmp, pairs) {
			return e.lset, e.ref, hash, true
		}
	}
	st.sb.Reset()
	for _, p := range pairs {
		addLabel(&st.sb, p.name, p.value)
	}
	st.sb.Sort()
	return st.sb.Labels(), 0, hash, false
}

// remember queues a cache update for a series whose final ref differs from
// the cached one. Series whose pairs were not sent sorted are not cached: a
// later lookup could never match them. st.key must still be the series' key.
func (st *reqState) remember(c *refCache, pairs []bytesLabel, hash uint64, hit bool, cachedRef, ref storage.SeriesRef, ls labels.Labels) {
	if c == nil || ref == 0 || (hit && ref == cachedRef) {
		return
	}
	if !hit && !labelsEqualKey(ls, st.key, &st.cmp, pairs) {
		return
	}
	st.pending = append(st.pending, pendingRef{hash: hash, e: refEntry{ref: ref, lset: ls}})
}

// flush applies the queued cache updates; call it after a successful commit.
func (st *reqState) flush(c *refCache) {
	if c == nil {
		return
	}
	for _, p := range st.pending {
		c.put(p.hash, p.e)
	}
}
