package storage

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"mytsdb/storage/block"
	"mytsdb/storage/crashpoint"
	"mytsdb/storage/promtsdb"
)

// walConvertedName marks, in the default tenant's directory, that the
// Prometheus WAL's data is in our block named inside: a crash before the
// WAL is deleted must not convert it a second time.
const walConvertedName = "prometheus-wal-converted"

// conversionMetrics count the history's conversion.
type conversionMetrics struct {
	remaining   prometheus.Gauge
	converted   prometheus.Counter
	failed      prometheus.Counter
	pauseFactor prometheus.Gauge
}

func newConversionMetrics(reg prometheus.Registerer) *conversionMetrics {
	m := &conversionMetrics{
		remaining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mytsdb_prometheus_history_parts",
			Help: "Parts (blocks, and the WAL) of the Prometheus data found in the data directory not yet converted into mytsdb blocks.",
		}),
		converted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_prometheus_history_converted_total",
			Help: "Parts of the Prometheus data converted into mytsdb blocks, verified and removed.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_prometheus_history_conversion_failures_total",
			Help: "Conversions of a part of the Prometheus data that failed (retried next round).",
		}),
		pauseFactor: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mytsdb_prometheus_history_pause_factor",
			Help: "The conversion's pause after a part, as a multiple of the time the part took (paced by the ingest rate).",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.remaining, m.converted, m.failed, m.pauseFactor} {
			_ = reg.Register(c) // only once per registry: a DB opened twice in one process keeps the first
		}
	}
	return m
}

// convertHistory moves the Prometheus history into the default tenant's
// blocks, one part at a time, oldest first: write it as our block (a
// Prometheus block keeps its ULID), verify it sample by sample against the
// source, serve it, then delete the source. A failure leaves the part
// served from Prometheus's files and is retried after a pause. After each
// part it pauses, as long as the pacer says: ingest must keep ≥ 0.9× the rate
// it has while nothing is converted (issue 14), measured, not assumed.
func (db *DB) convertHistory(t *Tenant, h *promtsdb.History, m *conversionMetrics) {
	defer close(db.convertDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-db.stop
		cancel()
	}()
	pause := func(d time.Duration) bool {
		select {
		case <-db.stop:
			return false
		case <-time.After(d):
			return true
		}
	}
	total := len(h.Parts())
	task := db.opts.tasks.begin(Task{Tenant: t.id, Kind: TaskConversion, Detail: "Prometheus data in " + db.opts.Dir, Total: total})
	defer task.end()
	pace := newPacer(db.samplesAppended)
	// A second of ingest before the first part, so that the first pause
	// is already paced by it.
	if !pause(time.Second) {
		return
	}
	pace.idleEnd()
	for done := 0; !h.Empty(); {
		parts := h.Parts()
		m.remaining.Set(float64(len(parts)))
		task.progress(done, total)
		start := time.Now()
		if err := t.convertPart(ctx, h, parts[0]); err != nil {
			if ctx.Err() != nil {
				return
			}
			m.failed.Inc()
			db.opts.Logger.Error("Converting Prometheus data failed; it stays served from Prometheus's files and is retried", "err", err)
			if !pause(time.Minute) {
				return
			}
			continue
		}
		done++
		m.converted.Inc()
		db.opts.Logger.Info("Prometheus data converted into mytsdb blocks", "part", done, "of", total,
			"mint", parts[0].MinTime, "maxt", parts[0].MaxTime, "duration", time.Since(start))
		d := pace.workEnd()
		m.pauseFactor.Set(pace.factor)
		if !pause(d) {
			return
		}
		pace.idleEnd()
	}
	m.remaining.Set(0)
	db.opts.Logger.Info("All Prometheus data in the data directory is now in mytsdb blocks; its files are gone")
}

// samplesAppended is what every open tenant's head has committed.
func (db *DB) samplesAppended() uint64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	var n uint64
	for _, t := range db.mu.tenants {
		n += t.head.SamplesAppended()
	}
	return n
}

// convertPart converts one part (see convertHistory).
func (t *Tenant) convertPart(ctx context.Context, h *promtsdb.History, p promtsdb.Part) error {
	t.cutMu.Lock()
	defer t.cutMu.Unlock()
	if t.isClosed() {
		return context.Canceled
	}
	var id ulid.ULID
	if p.Block != nil {
		id = p.Block.Meta().ULID
		// Converted before a crash: ours already holds it (perhaps merged
		// into a compacted block, which only ever takes verified blocks).
		for _, b := range t.blockList() {
			if b.Meta().ULID != id && slices.Contains(b.Meta().Compaction.Sources, id) {
				return h.DropBlock(p.Block)
			}
		}
	} else if data, err := os.ReadFile(filepath.Join(t.dir, walConvertedName)); err == nil {
		if prev, err := ulid.ParseStrict(string(data)); err == nil && t.hasBlock(prev) {
			return t.dropHistoryHead(h)
		}
	}
	ours := t.findBlock(id)
	if ours == nil && t.straightToTier(h, p) {
		if done, err := t.convertToTierLocked(ctx, h, p); done || err != nil {
			return err
		}
	}
	if ours == nil {
		q, err := h.PartQuerier(p, p.MinTime, p.MaxTime)
		if err != nil {
			return err
		}
		meta, err := block.Write(ctx, t.blocksDir, q.Select(ctx, true, nil, allSeries), block.WriteOptions{
			MinTime: p.MinTime, MaxTime: p.MaxTime + 1, ULID: id, Logger: t.logger, SegmentSize: t.opts.BlockSegmentSize,
		})
		_ = q.Close()
		if errors.Is(err, block.ErrEmpty) {
			return t.dropPart(h, p)
		}
		if err != nil {
			return err
		}
		if ours, err = block.Open(filepath.Join(t.blocksDir, meta.ULID.String()), t.logger); err != nil {
			return err
		}
		if err := t.verifyConverted(ctx, h, p, ours); err != nil {
			_ = ours.Close()
			return errors.Join(err, block.Remove(ours.Dir()))
		}
		if p.Block == nil {
			// The WAL's block has a new ULID: say durably which, before
			// it is served, so that a crash does not convert it twice.
			if err := writeFileSync(filepath.Join(t.dir, walConvertedName), []byte(meta.ULID.String())); err != nil {
				_ = ours.Close()
				return errors.Join(err, block.Remove(ours.Dir()))
			}
		}
		t.swapBlocks([]*block.Block{ours}, nil)
		crashpoint.Reach(crashpoint.HistoryConverted)
	} else if err := t.verifyConverted(ctx, h, p, ours); err != nil {
		// Written but not verified before a crash, and wrong: write again.
		t.swapBlocks(nil, []*block.Block{ours})
		return errors.Join(err, t.retireBlocks([]*block.Block{ours}))
	}
	return t.dropPart(h, p)
}

// straightToTier says whether part p goes straight to the Parquet tier
// instead of into a local block: it is a Prometheus block, the tier is open,
// and p ends Options.TierLocalRetention or more behind the newest data
// (the newest end of our blocks, the tier's and the history's parts), so
// that the lifecycle would upload it and drop the local copy at the next
// round anyway. Writing it locally first would only cost disk (beside
// Prometheus's copy) and time. Parts the tier's retention would delete at
// once take the local path, which local retention then deletes.
func (t *Tenant) straightToTier(h *promtsdb.History, p promtsdb.Part) bool {
	if p.Block == nil || t.tier == nil || t.tier.getStore() == nil {
		return false
	}
	newest := int64(math.MinInt64)
	for _, b := range t.blockList() {
		newest = max(newest, b.MaxTime())
	}
	for _, b := range t.tier.getStore().Blocks() {
		newest = max(newest, b.MaxTime)
	}
	for _, hp := range h.Parts() {
		newest = max(newest, hp.MaxTime+1)
	}
	end := p.MaxTime + 1
	if r := t.opts.TierRetention.Milliseconds(); r > 0 && end <= newest-r {
		return false
	}
	return end <= newest-t.opts.TierLocalRetention.Milliseconds()
}

// convertToTierLocked writes Prometheus block p to the Parquet tier under
// its ULID, verifies the copy against p sample by sample, and removes p;
// a copy a crash left complete is verified, not written again. done is
// false when the tier's store is not open (the caller converts locally).
func (t *Tenant) convertToTierLocked(ctx context.Context, h *promtsdb.History, p promtsdb.Part) (done bool, err error) {
	st := t.tier.getStore()
	if st == nil {
		return false, nil
	}
	m := p.Block.Meta()
	if m.Stats.NumSamples == 0 {
		return true, t.dropPart(h, p)
	}
	tb := TierBlock{ULID: m.ULID, MinTime: p.MinTime, MaxTime: p.MaxTime + 1, NumSeries: m.Stats.NumSeries,
		NumSamples: m.Stats.NumSamples, Level: m.Compaction.Level, Sources: slices.Clone(m.Compaction.Sources)}
	listed := false
	for _, b := range st.Blocks() {
		if b.ULID == tb.ULID {
			tb, listed = b, true
		}
	}
	if !listed {
		q, err := h.PartQuerier(p, p.MinTime, p.MaxTime)
		if err != nil {
			return true, err
		}
		err = st.Write(ctx, tb, q)
		_ = q.Close()
		if err != nil {
			return true, fmt.Errorf("storage: convert block %s to the Parquet tier: %w", tb.ULID, err)
		}
	}
	q, err := h.PartQuerier(p, p.MinTime, p.MaxTime)
	if err != nil {
		return true, err
	}
	err = st.Verify(ctx, tb, q)
	_ = q.Close()
	if err != nil {
		if ctx.Err() == nil {
			err = errors.Join(err, st.Delete(ctx, tb.ULID))
		}
		return true, fmt.Errorf("storage: convert block %s to the Parquet tier: %w", tb.ULID, err)
	}
	if err := st.Sync(ctx); err != nil {
		return true, fmt.Errorf("storage: convert block %s to the Parquet tier: list the bucket: %w", tb.ULID, err)
	}
	crashpoint.Reach(crashpoint.HistoryConverted)
	t.logger.Info("Prometheus block converted straight to the Parquet tier: it ends past the local retention", "block", tb.ULID,
		"mint", tb.MinTime, "maxt", tb.MaxTime)
	return true, t.dropPart(h, p)
}

// dropPart deletes a converted part's source.
func (t *Tenant) dropPart(h *promtsdb.History, p promtsdb.Part) error {
	if p.Block != nil {
		return h.DropBlock(p.Block)
	}
	return t.dropHistoryHead(h)
}

func (t *Tenant) dropHistoryHead(h *promtsdb.History) error {
	if err := h.DropHead(); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(t.dir, walConvertedName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (t *Tenant) findBlock(id ulid.ULID) *block.Block {
	if id == (ulid.ULID{}) {
		return nil
	}
	for _, b := range t.blockList() {
		if b.Meta().ULID == id {
			return b
		}
	}
	return nil
}

func (t *Tenant) hasBlock(id ulid.ULID) bool {
	for _, b := range t.blockList() {
		if b.Meta().ULID == id || slices.Contains(b.Meta().Compaction.Sources, id) {
			return true
		}
	}
	return false
}

// verifyConverted compares, series by series, the number of samples and a
// checksum of their timestamps and values in the source part and in ours.
func (t *Tenant) verifyConverted(ctx context.Context, h *promtsdb.History, p promtsdb.Part, ours *block.Block) error {
	src, err := h.PartSampleQuerier(p, p.MinTime, p.MaxTime)
	if err != nil {
		return err
	}
	want, err := digest(ctx, src)
	if err != nil {
		return fmt.Errorf("storage: verify conversion: read the Prometheus data: %w", err)
	}
	dst, err := ours.Querier(p.MinTime, p.MaxTime)
	if err != nil {
		return err
	}
	got, err := digest(ctx, dst)
	if err != nil {
		return fmt.Errorf("storage: verify conversion: read block %s: %w", ours.Meta().ULID, err)
	}
	if len(want) != len(got) {
		return fmt.Errorf("storage: verify conversion: %d series in the Prometheus data, %d in block %s", len(want), len(got), ours.Meta().ULID)
	}
	for k, w := range want {
		if got[k] != w {
			return fmt.Errorf("storage: verify conversion: series %s: %+v in the Prometheus data, %+v in block %s", k, w, got[k], ours.Meta().ULID)
		}
	}
	return nil
}

type seriesDigest struct {
	samples int
	sum     uint64
}

func digest(ctx context.Context, q promstorage.Querier) (map[string]seriesDigest, error) {
	defer q.Close()
	set := q.Select(ctx, true, nil, allSeries)
	out := map[string]seriesDigest{}
	var it chunkenc.Iterator
	for set.Next() {
		s := set.At()
		hs := fnv.New64a()
		var d seriesDigest
		var buf [16]byte
		it = s.Iterator(it)
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			d.samples++
			switch vt {
			case chunkenc.ValFloat:
				ts, v := it.At()
				putUint64(buf[:8], uint64(ts))
				putUint64(buf[8:], math.Float64bits(v))
				hs.Write(buf[:])
			case chunkenc.ValHistogram:
				ts, hh := it.AtHistogram(nil)
				putUint64(buf[:8], uint64(ts))
				hs.Write(buf[:8])
				hs.Write([]byte(hh.String()))
			case chunkenc.ValFloatHistogram:
				ts, fh := it.AtFloatHistogram(nil)
				putUint64(buf[:8], uint64(ts))
				hs.Write(buf[:8])
				hs.Write([]byte(fh.String()))
			}
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		d.sum = hs.Sum64()
		if d.samples > 0 {
			out[s.Labels().String()] = d
		}
	}
	return out, set.Err()
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

// writeFileSync writes a small file durably (file and directory fsynced).
func writeFileSync(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
