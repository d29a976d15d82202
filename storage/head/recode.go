package head

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	ourchunks "mytsdb/storage/chunkenc"
)

// recoder re-encodes the head's cut float chunks from XOR (what the append
// path writes, see xorWriter) into mytsdb's codec (storage/chunkenc), which
// holds the same samples in about half the bytes and decodes faster.
//
// It runs on a goroutine of its own, off the append path: a commit that
// cuts float chunks queues their series (queueRecode); the goroutine is
// started when work arrives and ends when the queue is empty, so an idle
// head runs none. Recoding happens outside the series lock: the XOR chunk is
// immutable, so it is read unlocked, and the new chunk is swapped in under
// the lock only if the series still holds that very chunk (a truncation or
// a delete may have dropped or rebuilt it meanwhile). A reader that took
// the XOR chunk before the swap keeps reading it: chunks are never changed
// in place, only replaced.
//
// WAL replay writes chunks without the series locks, so nothing is queued
// while it runs; when it ends every series is swept once (recodeAll).
type recoder struct {
	mu      sync.Mutex
	queue   []*memSeries
	all     bool // sweep every series next
	running bool
	stopped bool
	done    chan struct{} // closed when the running goroutine ends
}

// recodeMetrics count the recoder's work.
type recodeMetrics struct {
	recoded  prometheus.Counter
	failures prometheus.Counter
}

func newRecodeMetrics() *recodeMetrics {
	return &recodeMetrics{
		recoded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_head_chunks_recoded_total",
			Help: "Cut head chunks re-encoded from XOR into mytsdb's chunk codec.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_head_chunk_recode_failures_total",
			Help: "Cut head chunks that could not be re-encoded into mytsdb's chunk codec (they stay XOR).",
		}),
	}
}

// queueRecode queues series that have just cut a float chunk.
func (h *Head) queueRecode(ss []*memSeries) {
	r := &h.recode
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.queue = append(r.queue, ss...)
	h.startRecoderLocked()
}

// recodeAll queues a sweep of every series (after replay).
func (h *Head) recodeAll() {
	r := &h.recode
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.all = true
	h.startRecoderLocked()
}

func (h *Head) startRecoderLocked() {
	r := &h.recode
	if r.running {
		return
	}
	r.running = true
	r.done = make(chan struct{})
	go h.recodeLoop(r.done)
}

// stopRecoder ends the goroutine (Close) and waits for it.
func (h *Head) stopRecoder() {
	r := &h.recode
	r.mu.Lock()
	r.stopped = true
	r.queue = nil
	r.mu.Unlock()
	h.WaitRecoded()
}

// WaitRecoded waits until the chunks queued so far are re-encoded (the
// goroutine is idle), for tests and benchmarks of the head's steady state.
func (h *Head) WaitRecoded() {
	r := &h.recode
	for {
		r.mu.Lock()
		running, done := r.running, r.done
		r.mu.Unlock()
		if !running {
			return
		}
		<-done
	}
}

func (h *Head) recodeLoop(done chan struct{}) {
	r := &h.recode
	defer close(done)
	var (
		batch []*memSeries
		w     recodeWorker
	)
	for {
		r.mu.Lock()
		if r.stopped || (len(r.queue) == 0 && !r.all) {
			r.running = false
			r.mu.Unlock()
			return
		}
		batch, r.queue = r.queue, batch[:0]
		all := r.all
		r.all = false
		r.mu.Unlock()
		if all {
			h.series.forEach(func(s *memSeries) {
				if !h.closed.Load() {
					w.recodeSeries(h, s)
				}
			})
		}
		for i, s := range batch {
			if !h.closed.Load() {
				w.recodeSeries(h, s)
			}
			batch[i] = nil
		}
	}
}

// recodeWorker holds the recoder's buffers, reused across chunks.
type recodeWorker struct {
	todo []chunkenc.Chunk
	done []recoded
	ts   []int64
	vs   []float64
	buf  []byte
	it   chunkenc.Iterator
}

type recoded struct{ old, new chunkenc.Chunk }

// recodeSeries re-encodes the series' cut XOR chunks and swaps them in.
func (w *recodeWorker) recodeSeries(h *Head, s *memSeries) {
	s.mu.Lock()
	w.todo = w.todo[:0]
	if !s.mu.deleted {
		for _, c := range s.mu.sealed {
			if c.chunk.Encoding() == chunkenc.EncXOR {
				w.todo = append(w.todo, c.chunk)
			}
		}
	}
	s.mu.Unlock()
	if len(w.todo) == 0 {
		return
	}
	w.done = w.done[:0]
	for _, c := range w.todo {
		nc, err := w.recode(c)
		if err != nil {
			h.metrics.recode.failures.Inc()
			h.logger.Warn("Head chunk not re-encoded, it stays XOR", "series", s.lset.String(), "err", err)
			continue
		}
		w.done = append(w.done, recoded{old: c, new: nc})
	}
	n := 0
	s.mu.Lock()
	for _, d := range w.done {
		for j := range s.mu.sealed {
			if s.mu.sealed[j].chunk == d.old {
				s.mu.sealed[j].chunk = d.new
				n++
				break
			}
		}
	}
	s.mu.Unlock()
	h.metrics.recode.recoded.Add(float64(n))
	clear(w.todo)
	clear(w.done)
}

// recode returns the samples of the XOR chunk c in our codec.
func (w *recodeWorker) recode(c chunkenc.Chunk) (chunkenc.Chunk, error) {
	w.ts, w.vs = w.ts[:0], w.vs[:0]
	w.it = c.Iterator(w.it)
	for vt := w.it.Next(); vt != chunkenc.ValNone; vt = w.it.Next() {
		if vt != chunkenc.ValFloat {
			return nil, fmt.Errorf("a %s sample in an XOR chunk", vt)
		}
		t, v := w.it.At()
		w.ts = append(w.ts, t)
		w.vs = append(w.vs, v)
	}
	if err := w.it.Err(); err != nil {
		return nil, fmt.Errorf("read XOR chunk: %w", err)
	}
	b, err := ourchunks.AppendEncoded(w.buf[:0], w.ts, w.vs)
	if err != nil {
		return nil, err
	}
	w.buf = b
	return ourchunks.NewSealedChunk(bytes.Clone(b)), nil
}
