package head

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"mytsdb/storage/inflight"
	"mytsdb/storage/wal"
)

// DefaultMaxExemplars is the exemplar ring size when Options.MaxExemplars is 0
// (Prometheus's --storage.tsdb.max-exemplars default).
const DefaultMaxExemplars = 100000

// Options configures a Head.
type Options struct {
	WAL                  *wal.WAL // nil = no WAL (nothing survives a restart)
	OutOfOrderTimeWindow int64    // ms; 0 disables out-of-order ingestion
	Logger               *slog.Logger
	Registerer           prometheus.Registerer // may be nil
	MaxExemplars         int                   // 0 = DefaultMaxExemplars; < 0 disables exemplar storage
	ReplayWorkers        int                   // 0 = GOMAXPROCS
	// ChunkRange is Prometheus's head chunk range (its min block duration), in
	// ms: chunks are cut at its boundaries and in-order appends may not be
	// older than half of it behind the head's max time. 0 = 2h.
	ChunkRange int64
	// Compactable, if set, receives (without blocking) after a commit that
	// leaves the head due for a block cut (see Head.Compactable), so that
	// its owner cuts at once rather than at its next tick, as Prometheus's
	// appender signals its compactor.
	Compactable chan<- struct{}
	// SamplesPerChunk is --storage.tsdb.samples-per-chunk: a float chunk is
	// cut early (at a time computed after a quarter of it) to hold about
	// this many samples, and at twice as many at the latest. <= 0 = 120.
	SamplesPerChunk int
	// STAsZeroSample is created-timestamp-zero-ingestion: a sample appended
	// with a start timestamp also stores a 0 (a counter reset) at it,
	// best effort, as Prometheus's head does (AppenderV2; the V1 appender
	// has AppendSTZeroSample for that).
	STAsZeroSample bool
	// ChunkDir, if set, is the directory of the head's chunk segment files
	// (chunk_files.go, FORMAT.md): cut chunks are written there and read
	// back through mmap, off the Go heap. New deletes the segments a
	// previous run left (the WAL replay rebuilds them). "" keeps every
	// chunk on the heap.
	ChunkDir string
	// ChunkWriteQueueSize is --storage.tsdb.head-chunks-write-queue-size:
	// how many series with cut chunks may wait for the background writer;
	// a commit that finds the queue full, or the size <= 0, writes its cut
	// chunks itself before it returns. Only with ChunkDir.
	ChunkWriteQueueSize int
	// ChunkSegmentSize is the largest chunk segment file (0 =
	// DefaultChunkSegmentSize); at least 4 KiB, less than 4 GiB.
	ChunkSegmentSize int64
	// SnapshotDir is where the memory snapshot lives (snapshot.go); ""
	// = none. ReplayWAL deletes every snapshot it finds there, after
	// restoring the head from it when SnapshotOnShutdown is set and the
	// WAL ends where the snapshot was taken.
	SnapshotDir string
	// SnapshotOnShutdown is --enable-feature=memory-snapshot-on-shutdown:
	// WriteSnapshot writes the head to SnapshotDir, ReplayWAL loads it.
	SnapshotOnShutdown bool
}

// Validate reports every problem of o at once.
func (o Options) Validate() error {
	var errs []error
	if o.OutOfOrderTimeWindow < 0 {
		errs = append(errs, fmt.Errorf("head: negative OutOfOrderTimeWindow %d", o.OutOfOrderTimeWindow))
	}
	if o.ChunkSegmentSize != 0 && (o.ChunkSegmentSize < minChunkSegmentSize || o.ChunkSegmentSize > 1<<32-1) {
		errs = append(errs, fmt.Errorf("head: ChunkSegmentSize %d out of [4 KiB, 4 GiB)", o.ChunkSegmentSize))
	}
	if o.ReplayWorkers < 0 {
		errs = append(errs, fmt.Errorf("head: negative ReplayWorkers %d", o.ReplayWorkers))
	}
	return errors.Join(errs...)
}

// Head is the in-memory head of one tenant. See the package doc.
type Head struct {
	opts      Options
	logger    *slog.Logger
	wal       *wal.WAL
	series    *seriesStripes
	postings  *postingsIndex
	exemplars *exemplarStore
	metrics   *headMetrics
	// registered are the collectors registered on opts.Registerer, removed by Close.
	registered []prometheus.Collector

	numSeries    atomic.Int64
	minTime      atomic.Int64 // math.MaxInt64 while empty
	maxTime      atomic.Int64 // math.MinInt64 while empty
	minValidTime atomic.Int64 // set by Truncate: older samples are out of bounds
	// cutMaxt is the end of the range a cut is writing (PrepareCut to
	// FinishCut or AbortCut), math.MinInt64 otherwise. Out-of-order samples
	// older than it that commit meanwhile may miss the block being written:
	// they are kept in late, and put back after FinishCut's truncation.
	cutMaxt atomic.Int64
	late    struct {
		sync.Mutex
		samples []lateSample
	}
	lastRef atomic.Uint64
	txSeq   atomic.Uint64 // appender transaction ids
	// appended counts committed samples (floats and histograms), read by
	// work that paces itself by the ingest rate (the history conversion).
	appended atomic.Uint64

	// appenders are the open appender transactions (see WaitForAppenders).
	appenders inflight.Tracker

	// commitMu is held shared by every Commit (log + apply) and exclusively
	// while writing a checkpoint, so the checkpoint sees every logged sample.
	commitMu sync.RWMutex

	appPool sync.Pool

	mu struct {
		sync.Mutex
		dropped bool // Truncate dropped data since the last checkpoint
	}

	walBytes            atomic.Int64 // bytes logged since the last checkpoint
	lastCheckpointBytes atomic.Int64
	closed              atomic.Bool

	// recode re-encodes cut float chunks into mytsdb's codec and writes
	// cut chunks to files (recode.go).
	recode recoder
	// files are the chunk segment files, nil without Options.ChunkDir.
	files *chunkFiles
	// writers are the recodeWorkers of commits that write their chunks.
	writers sync.Pool

	// replayMinValid is minValidTime as ReplayWAL started: older logged
	// samples are in a block already and are skipped.
	replayMinValid int64
}

// New returns an empty head. Call ReplayWAL to load the WAL's content.
func New(opts Options) (*Head, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxExemplars == 0 {
		opts.MaxExemplars = DefaultMaxExemplars
	}
	if opts.ChunkRange == 0 {
		opts.ChunkRange = DefaultChunkRange
	}
	if opts.SamplesPerChunk <= 0 { // as Prometheus: not an error

		opts.SamplesPerChunk = DefaultSamplesPerChunk
	}
	if opts.ReplayWorkers == 0 {
		opts.ReplayWorkers = runtime.GOMAXPROCS(0)
	}
	h := &Head{
		opts:      opts,
		logger:    opts.Logger,
		wal:       opts.WAL,
		series:    newSeriesStripes(),
		postings:  newPostingsIndex(),
		exemplars: newExemplarStore(max(opts.MaxExemplars, 0)),
	}
	h.minTime.Store(math.MaxInt64)
	h.maxTime.Store(math.MinInt64)
	h.minValidTime.Store(math.MinInt64)
	h.cutMaxt.Store(math.MinInt64)
	h.appPool.New = func() any { return newAppender() }
	h.writers.New = func() any { return &recodeWorker{} }
	if opts.ChunkDir != "" {
		f, err := openChunkFiles(opts.ChunkDir, opts.ChunkSegmentSize)
		if err != nil {
			return nil, err
		}
		h.files = f
	}
	h.metrics = newHeadMetrics(h, opts.Registerer)
	return h, nil
}

// MinTime returns the oldest timestamp in the head, math.MaxInt64 if empty.
func (h *Head) MinTime() int64 { return h.minTime.Load() }

// MaxTime returns the newest timestamp in the head, math.MinInt64 if empty.
func (h *Head) MaxTime() int64 { return h.maxTime.Load() }

// NumSeries returns the number of series in the head.
func (h *Head) NumSeries() uint64 { return uint64(h.numSeries.Load()) }

// SamplesAppended is the number of samples appenders committed since the
// head was opened: prometheus_tsdb_head_samples_appended_total of all types,
// read without the metric's lock.
func (h *Head) SamplesAppended() uint64 { return h.appended.Load() }

// ChunkFilesSize is the bytes of the head's chunk segment files (0 without
// Options.ChunkDir), which Prometheus counts in its size retention as it
// counts chunks_head/.
func (h *Head) ChunkFilesSize() int64 {
	if h.files == nil {
		return 0
	}
	return h.files.Size()
}

// Close releases the head. It does not close the WAL (its owner does).
func (h *Head) Close() error {
	if h.closed.Swap(true) {
		return nil
	}
	h.stopRecoder()
	if r := h.opts.Registerer; r != nil {
		for _, c := range h.registered {
			r.Unregister(c)
		}
	}
	if h.files != nil {
		// A commit writing its own chunks meanwhile gets an error and
		// keeps them on the heap.
		return h.files.close()
	}
	return nil
}

// updateMinMax widens the head's time range to include [mint, maxt].
func (h *Head) updateMinMax(mint, maxt int64) {
	for {
		cur := h.minTime.Load()
		if mint >= cur || h.minTime.CompareAndSwap(cur, mint) {
			break
		}
	}
	for {
		cur := h.maxTime.Load()
		if maxt <= cur || h.maxTime.CompareAndSwap(cur, maxt) {
			break
		}
	}
}

// appendableMinValidTime is Prometheus's bound for in-order appends: not
// older than half a chunk range behind the head's max time, nor than the last
// truncation.
func (h *Head) appendableMinValidTime() int64 {
	mv := h.minValidTime.Load()
	if maxt := h.maxTime.Load(); maxt != math.MinInt64 {
		mv = max(mv, maxt-h.opts.ChunkRange/2)
	}
	return mv
}

// getOrCreate returns the series of lset (which must be sorted and free of
// empty values), creating and indexing it if needed.
func (h *Head) getOrCreate(lset labels.Labels) (*memSeries, bool) {
	hash := lset.Hash()
	return h.series.getOrCreate(hash, lset, func() wal.SeriesRef {
		return wal.SeriesRef(h.lastRef.Add(1))
	}, h.indexNew)
}

// indexNew adds a new series to the postings and counts it.
func (h *Head) indexNew(s *memSeries) {
	h.postings.add(s.ref, s.lset)
	h.numSeries.Add(1)
	h.metrics.seriesCreated.Inc()
}

// getOrCreateWithRef is getOrCreate for replay, where the ref is given.
// It returns the existing series if lset is already known under another ref.
// index runs for a new series in place of the postings add (h.indexNew does
// both); replay builds postings on a goroutine of its own.
func (h *Head) getOrCreateWithRef(ref wal.SeriesRef, lset labels.Labels, index func(*memSeries)) (*memSeries, bool) {
	s, created := h.series.getOrCreate(lset.Hash(), lset, func() wal.SeriesRef { return ref }, index)
	if created {
		for {
			cur := h.lastRef.Load()
			if uint64(ref) <= cur || h.lastRef.CompareAndSwap(cur, uint64(ref)) {
				break
			}
		}
	}
	return s, created
}

// StartTime returns the oldest timestamp in the head (math.MaxInt64 if empty),
// as storage.Storage's StartTime.
func (h *Head) StartTime() (int64, error) { return h.MinTime(), nil }

var (
	_ storage.Appendable        = (*Head)(nil)
	_ storage.AppendableV2      = (*Head)(nil)
	_ storage.Queryable         = (*Head)(nil)
	_ storage.ChunkQueryable    = (*Head)(nil)
	_ storage.ExemplarQueryable = (*Head)(nil)
)
