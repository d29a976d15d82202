package head

import (
	"bytes"
	"fmt"
	"math"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	ourchunks "mytsdb/storage/chunkenc"
)

// recoder re-encodes the head's cut float chunks from XOR (what the append
// path writes, see xorWriter) into mytsdb's codec (storage/chunkenc), which
// holds the same samples in about half the bytes and decodes faster. When
// the head has chunk files (Options.ChunkDir) it is also their writer: each
// cut chunk, re-encoded if it is XOR, is written to the files and the
// series keeps only its reference (see recodeWorker).
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

// recodeMetrics count the recoder's and the chunk writer's work.
type recodeMetrics struct {
	recoded       prometheus.Counter
	failures      prometheus.Counter
	written       prometheus.Counter
	writeFailures prometheus.Counter
	syncWrites    prometheus.Counter
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
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_head_chunks_written_total",
			Help: "Cut head chunks written to the head's chunk files, read back through mmap and dropped from the Go heap.",
		}),
		writeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_head_chunk_write_failures_total",
			Help: "Batches of cut head chunks that could not be written to the head's chunk files (they stay on the Go heap).",
		}),
		syncWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_head_chunk_sync_writes_total",
			Help: "Commits that wrote their cut chunks themselves, because the chunk write queue (--storage.tsdb.head-chunks-write-queue-size) is 0 or was full.",
		}),
	}
}

// queueRecode queues series that have just cut a chunk (a float chunk, or
// any chunk when the head has chunk files). With chunk files the queue is
// --storage.tsdb.head-chunks-write-queue-size long (Options.ChunkWriteQueueSize):
// when it is 0, or full, the caller writes the chunks itself before it
// returns, as Prometheus's head writes them synchronously without a queue.
func (h *Head) queueRecode(ss []*memSeries) {
	r := &h.recode
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	if h.files != nil && len(r.queue)+len(ss) > h.opts.ChunkWriteQueueSize {
		r.mu.Unlock()
		h.metrics.recode.syncWrites.Inc()
		w := h.writers.Get().(*recodeWorker)
		for _, s := range ss {
			w.collect(h, s)
		}
		w.flush(h)
		h.writers.Put(w)
		return
	}
	r.queue = append(r.queue, ss...)
	h.startRecoderLocked()
	r.mu.Unlock()
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
		if all && h.files == nil {
			h.series.forEach(func(s *memSeries) {
				if !h.closed.Load() {
					w.collect(h, s)
				}
			})
		} else if all {
			h.sweepToFiles(&w)
		}
		for i, s := range batch {
			if !h.closed.Load() {
				w.collect(h, s)
			}
			batch[i] = nil
		}
		w.flush(h)
	}
}

// sweepToFiles writes every cut chunk still on the heap (after a replay) to
// the chunk files in rounds, each series' oldest such chunk per round, so
// that the segments fill roughly in time order and the cuts that follow
// delete them in order, as they delete those the appends fill.
func (h *Head) sweepToFiles(w *recodeWorker) {
	for {
		found := false
		h.series.forEach(func(s *memSeries) {
			if !h.closed.Load() && w.collectN(h, s, 1) {
				found = true
			}
		})
		if !found || !w.flush(h) {
			return
		}
	}
}

// recodeFlushBytes is the batch size at which a worker writes to the chunk
// files: one pwrite per batch, not per chunk.
const recodeFlushBytes = 256 << 10

// recodeFlushChunks bounds the chunks a worker holds before swapping them in.
const recodeFlushChunks = 4096

// recodeWorker holds the recoder's buffers, reused across chunks. collect
// reads a series' cut chunks that are still on the heap (under its lock,
// the chunks themselves are immutable and read without it), re-encodes the
// XOR ones, and either keeps the result (no chunk files) or appends its
// record to buf; flush writes buf in one call and swaps each chunk for
// what replaces it, under the series lock, if the series still holds that
// very chunk (a truncation or a delete may have dropped or rebuilt it).
type recodeWorker struct {
	todo  []memChunk
	swaps []chunkSwap
	// pending are the chunks in swaps: a series queued twice before a
	// flush (a commit that cut two of its chunks) is not written twice.
	pending map[chunkenc.Chunk]struct{}
	buf     []byte // records to write (chunk files only)
	maxt    int64  // newest chunk maxt in buf
	ts      []int64
	vs      []float64
	enc     []byte
	it      chunkenc.Iterator
}

// chunkSwap is one chunk to replace: by new (no chunk files) or by the
// record at off in the batch.
type chunkSwap struct {
	s       *memSeries
	old     chunkenc.Chunk
	new     chunkenc.Chunk
	off     int
	recoded bool
}

// collect queues the series' chunks to swap, see recodeWorker.
func (w *recodeWorker) collect(h *Head, s *memSeries) { w.collectN(h, s, math.MaxInt) }

// collectN is collect of the series' n oldest chunks to swap; it reports
// whether it found any.
func (w *recodeWorker) collectN(h *Head, s *memSeries, n int) bool {
	s.mu.Lock()
	w.todo = w.todo[:0]
	if !s.mu.deleted {
		for _, c := range s.mu.sealed {
			if len(w.todo) == n {
				break
			}
			if _, ok := w.pending[c.chunk]; !ok && c.chunk != nil && (h.files != nil || c.chunk.Encoding() == chunkenc.EncXOR) {
				w.todo = append(w.todo, c)
			}
		}
	}
	s.mu.Unlock()
	found := len(w.todo) > 0
	for _, c := range w.todo {
		sw := chunkSwap{s: s, old: c.chunk}
		enc, data := c.chunk.Encoding(), c.chunk.Bytes()
		if enc == chunkenc.EncXOR {
			b, err := w.recode(c.chunk)
			if err != nil {
				h.metrics.recode.failures.Inc()
				h.logger.Warn("Head chunk not re-encoded, it stays XOR", "series", s.lset.String(), "err", err)
				if h.files == nil {
					continue
				}
			} else {
				enc, data, sw.recoded = ourchunks.EncFloat, b, true
			}
		}
		if h.files == nil {
			sw.new = ourchunks.NewSealedChunk(bytes.Clone(data))
		} else {
			// A batch is written to one segment: keep it well below
			// the segment size.
			if limit := min(recodeFlushBytes, h.files.maxSize/4); len(w.buf) > 0 && len(w.buf)+len(data)+chunkRecordFixed+16 > int(limit) {
				w.flush(h)
			}
			sw.off = len(w.buf)
			w.buf = appendChunkRecord(w.buf, s.ref, c.minTime, c.maxTime, enc, data)
			if len(w.swaps) == 0 || c.maxTime > w.maxt {
				w.maxt = c.maxTime
			}
		}
		w.swaps = append(w.swaps, sw)
		if w.pending == nil {
			w.pending = map[chunkenc.Chunk]struct{}{}
		}
		w.pending[c.chunk] = struct{}{}
	}
	clear(w.todo)
	if len(w.buf) >= recodeFlushBytes || len(w.swaps) >= recodeFlushChunks {
		w.flush(h)
	}
	return found
}

// flush writes the batch (chunk files) and swaps the chunks in. It
// reports false if the write failed (the chunks stay on the heap).
func (w *recodeWorker) flush(h *Head) bool {
	if len(w.swaps) == 0 {
		return true
	}
	var (
		seg SegmentNum
		off uint32
	)
	if h.files != nil {
		var err error
		seg, off, err = h.files.write(w.buf, w.maxt)
		if err != nil {
			h.metrics.recode.writeFailures.Inc()
			if !h.closed.Load() {
				h.logger.Error("Head chunks not written to the chunk files, they stay on the heap", "chunks", len(w.swaps), "err", err)
			}
			w.reset()
			return false
		}
	}
	var recodedN, writtenN int
	for i := 0; i < len(w.swaps); {
		s := w.swaps[i].s
		s.mu.Lock()
		for ; i < len(w.swaps) && w.swaps[i].s == s; i++ {
			sw := &w.swaps[i]
			for j := range s.mu.sealed {
				c := &s.mu.sealed[j]
				if c.chunk != sw.old {
					continue
				}
				if h.files == nil {
					c.chunk = sw.new
				} else {
					c.chunk, c.ref = nil, newChunkDiskRef(seg, off+uint32(sw.off))
					writtenN++
				}
				if sw.recoded {
					recodedN++
				}
				break
			}
		}
		s.mu.Unlock()
	}
	h.metrics.recode.recoded.Add(float64(recodedN))
	h.metrics.recode.written.Add(float64(writtenN))
	w.reset()
	return true
}

func (w *recodeWorker) reset() {
	clear(w.pending)
	clear(w.swaps)
	w.swaps = w.swaps[:0]
	w.buf = w.buf[:0]
}

// recode returns the samples of the XOR chunk c in our codec, in a buffer
// of w's (valid until the next call).
func (w *recodeWorker) recode(c chunkenc.Chunk) ([]byte, error) {
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
	b, err := ourchunks.AppendEncoded(w.enc[:0], w.ts, w.vs)
	if err != nil {
		return nil, err
	}
	w.enc = b
	return b, nil
}
