// Package promtsdb serves the history a Prometheus server left in the data
// directory mytsdb now runs on: its blocks (opened with the upstream tsdb
// package, read-only) and its write-ahead log (checkpoint and segments,
// read with the upstream wlog and record packages and replayed into an
// in-memory head of ours), behind the upstream storage.Querier and
// ChunkQuerier interfaces, so that the first dashboard after the swap
// shows the past.
//
// It must never write to Prometheus's files: nothing is created, renamed,
// truncated or repaired under the data directory (a torn WAL tail is read up
// to the damage and left as it is). It knows nothing of tenants: the
// storage package merges it into the default tenant's reads.
//
// What it leaves out: exemplars and metadata in the WAL, and chunks_head/
// (its chunks are in the WAL too, which is always replayed whole since the
// last checkpoint, as Prometheus does).
package promtsdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/record"
	"github.com/prometheus/prometheus/tsdb/tombstones"
	"github.com/prometheus/prometheus/tsdb/wlog"

	"mytsdb/storage/head"
)

// History is a Prometheus TSDB opened read-only. Its parts can be dropped
// one by one once a conversion holds them (DropBlock, DropHead); readers
// see a consistent set at the time they open their querier.
type History struct {
	dir    string
	logger *slog.Logger

	mu     sync.RWMutex
	blocks []*tsdb.Block // sorted by MinTime; replaced, never modified
	head   *head.Head    // what the WAL held after the last block; nil if empty
}

// Stats says what Open found.
type Stats struct {
	Blocks        int
	BlockSamples  uint64
	WALSeries     int
	WALSamples    int // floats and histograms appended to the head
	WALDropped    int // samples older than the last block (already in it)
	WALTombstones int
	WALDamage     error // where reading the WAL stopped early, if it did
}

// Detect reports whether dir holds a Prometheus TSDB: a wal/ directory or a
// block directory (a ULID name with a meta.json).
func Detect(dir string) bool {
	if fi, err := os.Stat(filepath.Join(dir, "wal")); err == nil && fi.IsDir() {
		return true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if isBlockDir(dir, e) {
			return true
		}
	}
	return false
}

func isBlockDir(dir string, e os.DirEntry) bool {
	if !e.IsDir() {
		return false
	}
	if _, err := ulid.ParseStrict(e.Name()); err != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, e.Name(), "meta.json"))
	return err == nil
}

// Open opens the blocks of the Prometheus TSDB in dir and replays its WAL.
// A block that does not open is left out with an error log (the rest is
// served); blocks a compaction superseded (named as parents by another)
// are left out as Prometheus leaves them.
func Open(dir string, logger *slog.Logger) (*History, Stats, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &History{dir: dir, logger: logger}
	var st Stats
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, st, fmt.Errorf("promtsdb: %w", err)
	}
	for _, e := range entries {
		if !isBlockDir(dir, e) {
			continue
		}
		b, err := tsdb.OpenBlock(logger, filepath.Join(dir, e.Name()), nil, nil)
		if err != nil {
			logger.Error("Prometheus block left out: it cannot be read", "block", e.Name(), "err", err)
			continue
		}
		h.blocks = append(h.blocks, b)
	}
	parents := map[ulid.ULID]bool{}
	for _, b := range h.blocks {
		for _, p := range b.Meta().Compaction.Parents {
			parents[p.ULID] = true
		}
	}
	h.blocks = slices.DeleteFunc(h.blocks, func(b *tsdb.Block) bool {
		if parents[b.Meta().ULID] {
			_ = b.Close()
			return true
		}
		return false
	})
	slices.SortFunc(h.blocks, func(a, b *tsdb.Block) int {
		if a.MinTime() != b.MinTime() {
			return int(min(max(a.MinTime()-b.MinTime(), -1), 1))
		}
		return a.Meta().ULID.Compare(b.Meta().ULID)
	})
	st.Blocks = len(h.blocks)
	for _, b := range h.blocks {
		st.BlockSamples += b.Meta().Stats.NumSamples
	}
	// As Prometheus's head: WAL samples before the newest block's end are
	// in that block already.
	minValid := int64(math.MinInt64)
	for _, b := range h.blocks {
		minValid = max(minValid, b.MaxTime())
	}
	if err := h.replayWAL(dir, minValid, &st); err != nil {
		return nil, st, errors.Join(err, h.Close())
	}
	return h, st, nil
}

// replayWAL appends what wal/ (and the out-of-order wbl/) hold at or after
// minValid to a head of ours.
func (h *History) replayWAL(dir string, minValid int64, st *Stats) error {
	walDir := filepath.Join(dir, "wal")
	if _, err := os.Stat(walDir); err != nil {
		return nil
	}
	hd, err := head.New(head.Options{
		Logger:               h.logger,
		MaxExemplars:         -1,
		OutOfOrderTimeWindow: math.MaxInt64 / 4, // everything the WAL and WBL kept is served
	})
	if err != nil {
		return fmt.Errorf("promtsdb: %w", err)
	}
	hd.SetMinValidTime(minValid)
	r := replayer{head: hd, refs: map[chunks.HeadSeriesRef]seriesRef{}, minValid: minValid, st: st, logger: h.logger}

	var ranges []wlog.SegmentRange
	first := -1
	if cp, idx, err := wlog.LastCheckpoint(walDir); err == nil {
		ranges = append(ranges, wlog.SegmentRange{Dir: cp, First: -1, Last: -1})
		first = idx + 1
	} else if !errors.Is(err, record.ErrNotFound) {
		return fmt.Errorf("promtsdb: find checkpoint: %w", err)
	}
	ranges = append(ranges, wlog.SegmentRange{Dir: walDir, First: first, Last: -1})
	if err := r.read(ranges...); err != nil {
		return err
	}
	wblDir := filepath.Join(dir, wlog.WblDirName)
	if _, err := os.Stat(wblDir); err == nil {
		if err := r.read(wlog.SegmentRange{Dir: wblDir, First: -1, Last: -1}); err != nil {
			return err
		}
	}
	if err := r.applyTombstones(); err != nil {
		return err
	}
	st.WALSeries = len(r.refs)
	if hd.NumSeries() > 0 {
		h.head = hd
	} else {
		_ = hd.Close()
	}
	return nil
}

type seriesRef struct {
	lset labels.Labels
	ref  storage.SeriesRef // in our head; 0 until the first sample
}

type replayer struct {
	head     *head.Head
	refs     map[chunks.HeadSeriesRef]seriesRef
	minValid int64
	stones   []tombstones.Stone
	st       *Stats
	logger   *slog.Logger
}

// read replays the records of the segment ranges. Damage stops the read
// where it is, as Prometheus's replay stops there before repairing (which
// this package never does): what came before is served.
func (r *replayer) read(ranges ...wlog.SegmentRange) error {
	sr, err := wlog.NewSegmentsRangeReader(ranges...)
	if err != nil {
		return fmt.Errorf("promtsdb: open WAL: %w", err)
	}
	defer sr.Close()
	rd := wlog.NewReader(sr)
	dec := record.NewDecoder(nil, r.logger)
	var (
		series  []record.RefSeries
		samples []record.RefSample
		hists   []record.RefHistogramSample
		fhists  []record.RefFloatHistogramSample
	)
	app := r.head.Appender(context.Background())
	pending := 0
	commit := func() error {
		if err := app.Commit(); err != nil {
			return fmt.Errorf("promtsdb: replay commit: %w", err)
		}
		app, pending = r.head.Appender(context.Background()), 0
		return nil
	}
	for rd.Next() {
		rec := rd.Record()
		var err error
		switch dec.Type(rec) {
		case record.Series:
			if series, err = dec.Series(rec, series[:0]); err == nil {
				for _, s := range series {
					if _, ok := r.refs[s.Ref]; !ok {
						r.refs[s.Ref] = seriesRef{lset: s.Labels.Copy()}
					}
				}
			}
		case record.Samples, record.SamplesV2:
			if samples, err = dec.Samples(rec, samples[:0]); err == nil {
				for _, s := range samples {
					r.append(s.Ref, s.T, func(ref storage.SeriesRef, l labels.Labels) (storage.SeriesRef, error) {
						return app.Append(ref, l, s.T, s.V)
					})
				}
				pending += len(samples)
			}
		case record.HistogramSamples, record.HistogramSamplesV2, record.CustomBucketsHistogramSamples:
			if hists, err = dec.HistogramSamples(rec, hists[:0]); err == nil {
				for _, s := range hists {
					r.append(s.Ref, s.T, func(ref storage.SeriesRef, l labels.Labels) (storage.SeriesRef, error) {
						return app.AppendHistogram(ref, l, s.T, s.H, nil)
					})
				}
				pending += len(hists)
			}
		case record.FloatHistogramSamples, record.FloatHistogramSamplesV2, record.CustomBucketsFloatHistogramSamples:
			if fhists, err = dec.FloatHistogramSamples(rec, fhists[:0]); err == nil {
				for _, s := range fhists {
					r.append(s.Ref, s.T, func(ref storage.SeriesRef, l labels.Labels) (storage.SeriesRef, error) {
						return app.AppendHistogram(ref, l, s.T, nil, s.FH)
					})
				}
				pending += len(fhists)
			}
		case record.Tombstones:
			r.stones, err = dec.Tombstones(rec, r.stones)
		default: // exemplars, metadata, mmap markers, min valid time
		}
		if err != nil {
			r.st.WALDamage = fmt.Errorf("decode record: %w", err)
			break
		}
		if pending >= 10_000 {
			if err := commit(); err != nil {
				return err
			}
		}
	}
	if err := rd.Err(); err != nil && r.st.WALDamage == nil {
		r.st.WALDamage = err
	}
	if r.st.WALDamage != nil {
		r.logger.Warn("Prometheus WAL read up to damage; the rest of it is not served", "err", r.st.WALDamage)
	}
	return commit()
}

// append adds one sample of the WAL series ref through fn, counting what
// the head takes and what is older than the blocks.
func (r *replayer) append(ref chunks.HeadSeriesRef, t int64, fn func(storage.SeriesRef, labels.Labels) (storage.SeriesRef, error)) {
	s, ok := r.refs[ref]
	if !ok { // a sample of a series the checkpoint dropped: Prometheus drops it too
		return
	}
	if t < r.minValid {
		r.st.WALDropped++
		return
	}
	got, err := fn(s.ref, s.lset)
	if err != nil {
		r.st.WALDropped++
		return
	}
	if s.ref == 0 {
		s.ref = got
		r.refs[ref] = s
	}
	r.st.WALSamples++
}

// applyTombstones deletes what the WAL's delete_series records deleted.
func (r *replayer) applyTombstones() error {
	r.st.WALTombstones = len(r.stones)
	for _, st := range r.stones {
		s, ok := r.refs[chunks.HeadSeriesRef(st.Ref)]
		if !ok {
			continue
		}
		var ms []*labels.Matcher
		s.lset.Range(func(l labels.Label) {
			ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, l.Name, l.Value))
		})
		for _, iv := range st.Intervals {
			if err := r.head.Delete(context.Background(), iv.Mint, iv.Maxt, ms...); err != nil {
				return fmt.Errorf("promtsdb: apply tombstone: %w", err)
			}
		}
	}
	return nil
}

// MinTime and MaxTime bound what History holds; MinTime > MaxTime when it
// holds nothing.
func (h *History) MinTime() int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	mt := int64(math.MaxInt64)
	if len(h.blocks) > 0 {
		mt = h.blocks[0].MinTime()
	}
	if h.head != nil {
		mt = min(mt, h.head.MinTime())
	}
	return mt
}

func (h *History) MaxTime() int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	mt := int64(math.MinInt64)
	for _, b := range h.blocks {
		mt = max(mt, b.MaxTime()-1) // a block's MaxTime is exclusive
	}
	if h.head != nil {
		mt = max(mt, h.head.MaxTime())
	}
	return mt
}

// Querier merges the blocks overlapping [mint, maxt] and the WAL's head.
func (h *History) Querier(mint, maxt int64) (storage.Querier, error) {
	qs, err := overlapping(h, mint, maxt,
		func(b *tsdb.Block) (storage.Querier, error) { return tsdb.NewBlockQuerier(b, mint, maxt) },
		func(hd *head.Head) (storage.Querier, error) { return hd.Querier(mint, maxt) })
	if err != nil {
		return nil, err
	}
	return storage.NewMergeQuerier(qs, nil, storage.ChainedSeriesMerge), nil
}

// ChunkQuerier is Querier's chunk form.
func (h *History) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	qs, err := overlapping(h, mint, maxt,
		func(b *tsdb.Block) (storage.ChunkQuerier, error) { return tsdb.NewBlockChunkQuerier(b, mint, maxt) },
		func(hd *head.Head) (storage.ChunkQuerier, error) { return hd.ChunkQuerier(mint, maxt) })
	if err != nil {
		return nil, err
	}
	return storage.NewMergeChunkQuerier(qs, nil, storage.NewCompactingChunkSeriesMerger(storage.ChainedSeriesMerge)), nil
}

// overlapping opens a querier of kind Q on every part overlapping
// [mint, maxt]; on an error it closes those already open.
func overlapping[Q interface{ Close() error }](h *History, mint, maxt int64, ofBlock func(*tsdb.Block) (Q, error), ofHead func(*head.Head) (Q, error)) ([]Q, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var qs []Q
	fail := func(err error) ([]Q, error) {
		for _, q := range qs {
			_ = q.Close()
		}
		return nil, fmt.Errorf("promtsdb: %w", err)
	}
	for _, b := range h.blocks {
		if b.MinTime() > maxt || b.MaxTime() <= mint {
			continue
		}
		q, err := ofBlock(b)
		if err != nil {
			return fail(err)
		}
		qs = append(qs, q)
	}
	if h.head != nil && h.head.MinTime() <= maxt && h.head.MaxTime() >= mint {
		q, err := ofHead(h.head)
		if err != nil {
			return fail(err)
		}
		qs = append(qs, q)
	}
	return qs, nil
}

// Close releases the blocks and the head. Block Close waits for the
// queriers still open on it.
func (h *History) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for _, b := range h.blocks {
		if err := b.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if h.head != nil {
		if err := h.head.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Part is one piece of the history a conversion moves: a block, or the
// head replayed from the WAL (Block nil).
type Part struct {
	Block   *tsdb.Block
	MinTime int64
	MaxTime int64 // inclusive
}

// Parts are the blocks, oldest first, then the head if there is one.
func (h *History) Parts() []Part {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var ps []Part
	for _, b := range h.blocks {
		ps = append(ps, Part{Block: b, MinTime: b.MinTime(), MaxTime: b.MaxTime() - 1})
	}
	if h.head != nil {
		ps = append(ps, Part{MinTime: h.head.MinTime(), MaxTime: h.head.MaxTime()})
	}
	return ps
}

// Empty reports whether nothing is left to serve.
func (h *History) Empty() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.blocks) == 0 && h.head == nil
}

// PartQuerier is a chunk querier over one part only.
func (h *History) PartQuerier(p Part, mint, maxt int64) (storage.ChunkQuerier, error) {
	if p.Block != nil {
		return tsdb.NewBlockChunkQuerier(p.Block, mint, maxt)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.head == nil {
		return nil, errors.New("promtsdb: the head is gone")
	}
	return h.head.ChunkQuerier(mint, maxt)
}

// PartSampleQuerier is a sample querier over one part only.
func (h *History) PartSampleQuerier(p Part, mint, maxt int64) (storage.Querier, error) {
	if p.Block != nil {
		return tsdb.NewBlockQuerier(p.Block, mint, maxt)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.head == nil {
		return nil, errors.New("promtsdb: the head is gone")
	}
	return h.head.Querier(mint, maxt)
}

// DropBlock stops serving b and deletes its directory the way Prometheus
// deletes a block (renamed to <ULID>.tmp-for-deletion, then removed), so
// that a crash in between leaves what Prometheus itself cleans up. It is
// the one place this package deletes: called only once b's data is held,
// and verified, elsewhere.
func (h *History) DropBlock(b *tsdb.Block) error {
	h.mu.Lock()
	h.blocks = slices.DeleteFunc(slices.Clone(h.blocks), func(x *tsdb.Block) bool { return x == b })
	h.mu.Unlock()
	if err := b.Close(); err != nil { // waits for the queriers still on it
		return fmt.Errorf("promtsdb: close block %s: %w", b.Meta().ULID, err)
	}
	dir := b.Dir()
	tmp := dir + ".tmp-for-deletion"
	if err := os.Rename(dir, tmp); err != nil {
		return fmt.Errorf("promtsdb: remove block %s: %w", b.Meta().ULID, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("promtsdb: remove block %s: %w", b.Meta().ULID, err)
	}
	return nil
}

// DropHead stops serving the WAL's head and deletes Prometheus's WAL,
// out-of-order WAL and head chunks, once their data is held elsewhere.
func (h *History) DropHead() error {
	h.mu.Lock()
	hd := h.head
	h.head = nil
	h.mu.Unlock()
	if hd != nil {
		if err := hd.Close(); err != nil {
			return err
		}
	}
	for _, name := range []string{"wal", wlog.WblDirName, "chunks_head"} {
		if err := os.RemoveAll(filepath.Join(h.dir, name)); err != nil {
			return fmt.Errorf("promtsdb: remove %s: %w", name, err)
		}
	}
	return nil
}
