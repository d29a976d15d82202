package head

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	ourchunks "mytsdb/storage/chunkenc"
	"mytsdb/storage/wal"
)

// Memory snapshot (--enable-feature=memory-snapshot-on-shutdown; format in
// FORMAT.md). At a clean shutdown, once the WAL is closed, WriteSnapshot
// writes the whole head to <SnapshotDir>/chunk_snapshot.<segment>.<offset>,
// named (like Prometheus's) by where the WAL ends. ReplayWAL restores the
// head from it instead of replaying the WAL only when the WAL still ends
// exactly there; in every other case (the WAL grew, the file is corrupt,
// the option is off) it deletes it and replays. A snapshot is deleted once
// read, used or not, so that it never outlives the run it was loaded by:
// the WAL stays the source of truth.

const (
	snapshotPrefix  = "chunk_snapshot."
	snapshotVersion = 1
)

var snapshotMagic = [4]byte{'M', 'Y', 'H', 'S'}

// walEnd is where a WAL directory ends: its newest checkpoint (0 = none,
// else its number + 1), its last segment and that segment's size.
type walEnd struct {
	ckpt uint64
	seg  uint64
	off  int64
}

func walEndOf(w *wal.WAL) (walEnd, error) {
	f, err := w.Files()
	if err != nil {
		return walEnd{}, fmt.Errorf("head: snapshot: list WAL: %w", err)
	}
	var e walEnd
	if f.HasCheckpoint {
		e.ckpt = uint64(f.Checkpoint) + 1
	}
	if n := len(f.Segments); n > 0 {
		e.seg = uint64(f.Segments[n-1])
		if e.off, err = w.SegmentFileSize(f.Segments[n-1]); err != nil {
			return walEnd{}, fmt.Errorf("head: snapshot: %w", err)
		}
	}
	return e, nil
}

func snapshotName(e walEnd) string {
	return fmt.Sprintf("%s%06d.%010d", snapshotPrefix, e.seg, e.off)
}

// WriteSnapshot writes the head to its snapshot file when
// Options.SnapshotOnShutdown is set; otherwise it does nothing. Call it at
// shutdown after the WAL is closed (nothing may be logged after it) and
// before Close (it reads the chunk files).
func (h *Head) WriteSnapshot() error {
	if !h.opts.SnapshotOnShutdown || h.opts.SnapshotDir == "" || h.wal == nil {
		return nil
	}
	start := time.Now()
	h.commitMu.Lock()
	defer h.commitMu.Unlock()
	end, err := walEndOf(h.wal)
	if err != nil {
		return err
	}
	path := filepath.Join(h.opts.SnapshotDir, snapshotName(end))
	var nSeries int
	size, err := writeFileSync(path, func(w io.Writer) (err error) {
		nSeries, err = h.encodeSnapshot(w, end)
		return err
	})
	if err != nil {
		return fmt.Errorf("head: write snapshot: %w", err)
	}
	h.logger.Info("Chunk snapshot written", "file", path, "series", nSeries, "bytes", size, "duration", time.Since(start))
	return nil
}

// writeFileSync writes path through a temporary file (buffered, by write),
// fsyncs it, renames it and fsyncs the directory. It returns the size.
func writeFileSync(path string, write func(w io.Writer) error) (int64, error) {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	var size int64
	if err == nil {
		size, err = f.Seek(0, io.SeekCurrent)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return 0, err
	}
	err = d.Sync()
	return size, errors.Join(err, d.Close())
}

// crcWriter passes writes on and keeps their CRC.
type crcWriter struct {
	w   io.Writer
	crc uint32
}

func (c *crcWriter) Write(p []byte) (int, error) {
	c.crc = crc32.Update(c.crc, castagnoli, p)
	return c.w.Write(p)
}

// encodeSnapshot writes the snapshot to w: the header and the records
// (series, metadata, out-of-order samples, exemplars) built in memory, then
// the chunks series by series through one buffer, so that the chunks (most
// of it) are never all in memory at once. It returns the number of series.
func (h *Head) encodeSnapshot(w io.Writer, end walEnd) (int, error) {
	var all []*memSeries
	h.series.forEach(func(s *memSeries) {
		if s.logged.Load() { // Others have no committed sample.
			all = append(all, s)
		}
	})
	slices.SortFunc(all, func(a, b *memSeries) int { return cmpRef(a.ref, b.ref) })
	cw := &crcWriter{w: w}

	b := append([]byte(nil), snapshotMagic[:]...)
	b = append(b, snapshotVersion, 0, 0, 0)
	b = binary.AppendUvarint(b, end.ckpt)
	b = binary.AppendUvarint(b, end.seg)
	b = binary.AppendVarint(b, end.off)
	b = binary.AppendVarint(b, h.minTime.Load())
	b = binary.AppendVarint(b, h.maxTime.Load())
	b = binary.AppendUvarint(b, h.lastRef.Load())
	b = binary.AppendVarint(b, h.walBytes.Load())

	var (
		recs   [][]byte
		series []wal.RefSeries
		metas  []wal.RefMetadata
		floats []wal.RefSample
		hists  []wal.RefHistogramSample
		fhists []wal.RefFloatHistogramSample
	)
	for _, s := range all {
		series = append(series, wal.RefSeries{Ref: s.ref, Labels: s.lset})
		if len(series) == checkpointBatch {
			recs = append(recs, wal.AppendSeriesRecord(nil, series))
			series = series[:0]
		}
		s.mu.Lock()
		if m := s.mu.meta; m != nil {
			metas = append(metas, wal.RefMetadata{Ref: s.ref, Type: m.Type, Unit: m.Unit, Help: m.Help})
		}
		for _, o := range s.mu.ooo {
			switch {
			case o.h != nil:
				hists = append(hists, wal.RefHistogramSample{Ref: s.ref, T: o.t, H: o.h})
			case o.fh != nil:
				fhists = append(fhists, wal.RefFloatHistogramSample{Ref: s.ref, T: o.t, FH: o.fh})
			default:
				floats = append(floats, wal.RefSample{Ref: s.ref, T: o.t, V: o.v})
			}
		}
		s.mu.Unlock()
	}
	if len(series) > 0 {
		recs = append(recs, wal.AppendSeriesRecord(nil, series))
	}
	for i := 0; i < len(metas); i += checkpointBatch {
		recs = append(recs, wal.AppendMetadataRecord(nil, metas[i:min(i+checkpointBatch, len(metas))]))
	}
	for i := 0; i < len(floats); i += checkpointBatch {
		recs = append(recs, wal.AppendSamplesRecord(nil, floats[i:min(i+checkpointBatch, len(floats))]))
	}
	for i := 0; i < len(hists); i += checkpointBatch {
		recs = append(recs, wal.AppendHistogramsRecord(nil, hists[i:min(i+checkpointBatch, len(hists))]))
	}
	for i := 0; i < len(fhists); i += checkpointBatch {
		recs = append(recs, wal.AppendFloatHistogramsRecord(nil, fhists[i:min(i+checkpointBatch, len(fhists))]))
	}
	exs := h.exemplars.all()
	for i := 0; i < len(exs); i += checkpointBatch {
		recs = append(recs, wal.AppendExemplarsRecord(nil, exs[i:min(i+checkpointBatch, len(exs))]))
	}
	b = binary.AppendUvarint(b, uint64(len(recs)))
	if _, err := cw.Write(b); err != nil {
		return 0, err
	}
	for _, r := range recs {
		b = binary.AppendUvarint(b[:0], uint64(len(r)))
		if _, err := cw.Write(b); err != nil {
			return 0, err
		}
		if _, err := cw.Write(r); err != nil {
			return 0, err
		}
	}
	recs = nil
	b = binary.AppendUvarint(b[:0], uint64(len(all)))
	for _, s := range all {
		s.mu.Lock()
		var err error
		b, err = h.appendSeriesChunksLocked(b, s)
		s.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if len(b) >= 64<<10 {
			if _, err := cw.Write(b); err != nil {
				return 0, err
			}
			b = b[:0]
		}
	}
	b = binary.LittleEndian.AppendUint32(b, 0)
	if _, err := cw.Write(b[:len(b)-4]); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint32(b[len(b)-4:], cw.crc)
	if _, err := w.Write(b[len(b)-4:]); err != nil {
		return 0, err
	}
	return len(all), nil
}

func cmpRef(a, b wal.SeriesRef) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func appendSnapChunk(b []byte, mint, maxt int64, enc chunkenc.Encoding, data []byte) []byte {
	b = binary.AppendVarint(b, mint)
	b = binary.AppendVarint(b, maxt)
	b = append(b, byte(enc))
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// appendSeriesChunksLocked appends the chunk entry of s (its lock held).
func (h *Head) appendSeriesChunksLocked(b []byte, s *memSeries) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(s.ref))
	b = binary.AppendUvarint(b, uint64(len(s.mu.sealed)))
	for _, c := range s.mu.sealed {
		if c.chunk != nil {
			b = appendSnapChunk(b, c.minTime, c.maxTime, c.chunk.Encoding(), c.chunk.Bytes())
			continue
		}
		if h.files == nil {
			return nil, fmt.Errorf("head: snapshot: series %d: chunk %d on disk without chunk files", s.ref, c.ref)
		}
		h.files.mu.RLock()
		r, err := h.files.recordLocked(c.ref)
		if err == nil {
			b = appendSnapChunk(b, c.minTime, c.maxTime, r.enc, r.data)
		}
		h.files.mu.RUnlock()
		if err != nil {
			return nil, fmt.Errorf("head: snapshot: series %d: %w", s.ref, err)
		}
	}
	if !s.mu.hasOpen {
		return append(b, 0), nil
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, s.mu.nextAt)
	histEnd := byte(0)
	if hs := s.mu.hist; hs != nil && hs.histEnd {
		histEnd = 1
	}
	b = append(b, histEnd)
	if hc := s.openHistChunkLocked(); hc != nil {
		return appendSnapChunk(b, s.mu.open.minTime, s.mu.open.maxTime, hc.Encoding(), hc.Bytes()), nil
	}
	x := &s.mu.xor
	b = appendSnapChunk(b, s.mu.open.minTime, s.mu.open.maxTime, chunkenc.EncXOR, x.bytes())
	return appendXORState(b, x), nil
}

// appendXORState appends the state of an open float chunk's writer beyond
// its bytes, so that a restore continues it without decoding the chunk.
func appendXORState(b []byte, x *xorWriter) []byte {
	b = binary.AppendVarint(b, x.t)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x.v))
	b = binary.AppendUvarint(b, x.tDelta)
	return append(b, x.leading, x.trailing, x.nacc)
}

// xorFromState rebuilds the writer of an open float chunk from its bytes
// (the header, the full words, then the pending bits) and the state
// appendXORState wrote.
func xorFromState(d *snapDecoder, data []byte, maxt int64) (xorWriter, error) {
	x := xorWriter{t: d.varint("XOR state")}
	var vb [8]byte
	for i := range vb {
		vb[i] = d.byte("XOR state")
	}
	x.v = math.Float64frombits(binary.LittleEndian.Uint64(vb[:]))
	x.tDelta = d.uvarint("XOR state")
	x.leading, x.trailing, x.nacc = d.byte("XOR state"), d.byte("XOR state"), d.byte("XOR state")
	if d.err != nil {
		return x, d.err
	}
	pending := (int(x.nacc) + 7) >> 3
	words := len(data) - 2 - pending
	if len(data) < 2 || x.nacc > 63 || words < 0 || words%8 != 0 || x.t != maxt {
		return x, errors.New("snapshot: inconsistent open XOR chunk state")
	}
	x.num = binary.BigEndian.Uint16(data)
	if x.num == 0 {
		return x, errors.New("snapshot: empty open XOR chunk")
	}
	x.b = append(make([]byte, 0, len(data)-pending+8), data[:len(data)-pending]...)
	for i, c := range data[len(data)-pending:] {
		x.acc |= uint64(c) << (56 - 8*uint(i))
	}
	return x, nil
}

// all returns the exemplars, oldest first (the ring's order, which their
// eviction follows).
func (es *exemplarStore) all() []wal.RefExemplar {
	es.mu.RLock()
	defer es.mu.RUnlock()
	n := len(es.mu.ring)
	if n == 0 {
		return nil
	}
	out := make([]wal.RefExemplar, 0, es.mu.count)
	first := (es.mu.next - es.mu.count + n) % n
	for i := range es.mu.count {
		x := &es.mu.ring[(first+i)%n]
		out = append(out, wal.RefExemplar{Ref: x.ref, T: x.e.Ts, V: x.e.Value, Labels: x.e.Labels})
	}
	return out
}

// snapDecoder reads the snapshot's varints; the first error sticks.
type snapDecoder struct {
	b   []byte
	err error
}

func (d *snapDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("snapshot: %s cut short or invalid", what)
	}
	d.b = nil
}

func (d *snapDecoder) uvarint(what string) uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *snapDecoder) varint(what string) int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *snapDecoder) byte(what string) byte {
	if len(d.b) < 1 {
		d.fail(what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *snapDecoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if n > uint64(len(d.b)) {
		d.fail(what)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// snapChunk is a decoded chunk of the snapshot.
type snapChunk struct {
	mint, maxt int64
	chunk      chunkenc.Chunk
}

type snapSeries struct {
	ref     wal.SeriesRef
	sealed  []memChunk
	hasOpen bool
	nextAt  int64
	histEnd bool
	open    snapChunk
	// xor is the open float chunk's writer, rebuilt by re-appending its
	// samples (checked to write the same bytes).
	xor   xorWriter
	isXOR bool
	// lastH/lastFH are the open histogram chunk's newest sample.
	lastH  *histogram.Histogram
	lastFH *histogram.FloatHistogram
}

// headSnapshot is a decoded snapshot, checked before any of it is applied.
type headSnapshot struct {
	end              walEnd
	minTime, maxTime int64
	lastRef          uint64
	walBytes         int64
	series           []wal.RefSeries
	metas            []wal.RefMetadata
	floats           []wal.RefSample
	hists            []wal.RefHistogramSample
	fhists           []wal.RefFloatHistogramSample
	exemplars        []wal.RefExemplar
	chunks           []snapSeries
}

// decodeSnapshot decodes and checks a whole snapshot file.
func decodeSnapshot(b []byte) (*headSnapshot, error) {
	if len(b) < 12 || !bytes.Equal(b[:4], snapshotMagic[:]) {
		return nil, errors.New("snapshot: bad magic")
	}
	if b[4] != snapshotVersion {
		return nil, fmt.Errorf("snapshot: unknown version %d", b[4])
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, errors.New("snapshot: checksum mismatch")
	}
	d := &snapDecoder{b: body[8:]}
	hs := &headSnapshot{}
	hs.end.ckpt = d.uvarint("WAL checkpoint")
	hs.end.seg = d.uvarint("WAL segment")
	hs.end.off = d.varint("WAL offset")
	hs.minTime = d.varint("min time")
	hs.maxTime = d.varint("max time")
	hs.lastRef = d.uvarint("last ref")
	hs.walBytes = d.varint("WAL bytes")
	nrec := d.uvarint("record count")
	for i := uint64(0); i < nrec && d.err == nil; i++ {
		rec := d.bytes("record")
		if d.err != nil {
			break
		}
		var err error
		switch wal.TypeOf(rec) {
		case wal.RecordSeries:
			hs.series, err = wal.DecodeSeriesRecord(rec, hs.series)
		case wal.RecordMetadata:
			hs.metas, err = wal.DecodeMetadataRecord(rec, hs.metas)
		case wal.RecordSamples:
			hs.floats, err = wal.DecodeSamplesRecord(rec, hs.floats)
		case wal.RecordHistograms:
			hs.hists, err = wal.DecodeHistogramsRecord(rec, hs.hists)
		case wal.RecordFloatHistograms:
			hs.fhists, err = wal.DecodeFloatHistogramsRecord(rec, hs.fhists)
		case wal.RecordExemplars:
			hs.exemplars, err = wal.DecodeExemplarsRecord(rec, hs.exemplars)
		default:
			err = fmt.Errorf("unexpected record type %d", wal.TypeOf(rec))
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot: record %d: %w", i, err)
		}
	}
	n := d.uvarint("series count")
	if d.err == nil && n != uint64(len(hs.series)) {
		return nil, fmt.Errorf("snapshot: %d series with chunks, %d series records", n, len(hs.series))
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		ss, err := decodeSnapSeries(d)
		if err != nil {
			return nil, err
		}
		hs.chunks = append(hs.chunks, ss)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("snapshot: %d bytes after the last series", len(d.b))
	}
	return hs, nil
}

func decodeChunk(d *snapDecoder) (snapChunk, error) {
	c := snapChunk{mint: d.varint("chunk min time"), maxt: d.varint("chunk max time")}
	enc := chunkenc.Encoding(d.byte("chunk encoding"))
	data := d.bytes("chunk data")
	if d.err != nil {
		return c, d.err
	}
	if !ourchunks.IsValidEncoding(enc) {
		return c, fmt.Errorf("snapshot: unknown chunk encoding %d", enc)
	}
	var err error
	c.chunk, err = ourchunks.FromData(enc, slices.Clone(data))
	if err != nil {
		return c, fmt.Errorf("snapshot: chunk: %w", err)
	}
	return c, nil
}

func decodeSnapSeries(d *snapDecoder) (snapSeries, error) {
	ss := snapSeries{ref: wal.SeriesRef(d.uvarint("series ref"))}
	nSealed := d.uvarint("chunk count")
	if nSealed > uint64(len(d.b)) {
		d.fail("chunk count")
	}
	for range nSealed {
		if d.err != nil {
			break
		}
		c, err := decodeChunk(d)
		if err != nil {
			return ss, err
		}
		ss.sealed = append(ss.sealed, memChunk{chunk: c.chunk, minTime: c.mint, maxTime: c.maxt})
	}
	if d.byte("open flag") == 0 || d.err != nil {
		return ss, d.err
	}
	ss.hasOpen = true
	ss.nextAt = d.varint("next cut time")
	ss.histEnd = d.byte("histogram end flag") == 1
	c := snapChunk{mint: d.varint("chunk min time"), maxt: d.varint("chunk max time")}
	enc := chunkenc.Encoding(d.byte("chunk encoding"))
	data := d.bytes("chunk data")
	if d.err != nil {
		return ss, d.err
	}
	ss.open = c
	if enc == chunkenc.EncXOR {
		x, err := xorFromState(d, data, c.maxt)
		if err != nil {
			return ss, fmt.Errorf("series %d: %w", ss.ref, err)
		}
		ss.xor, ss.isXOR = x, true
		return ss, nil
	}
	if enc != chunkenc.EncHistogram && enc != chunkenc.EncFloatHistogram {
		return ss, fmt.Errorf("snapshot: series %d: open chunk of encoding %s", ss.ref, enc)
	}
	oc, err := chunkenc.FromData(enc, data)
	if err != nil {
		return ss, fmt.Errorf("snapshot: series %d: open chunk: %w", ss.ref, err)
	}
	// An appender of a chunk made from bytes would write past its last
	// partial byte (upstream's FromData does not know how many bits of it
	// are used): rebuild the chunk by appending its samples to a new one,
	// and check that it came out byte for byte.
	nc, err := reappendHistChunk(oc, &ss)
	if err != nil {
		return ss, fmt.Errorf("snapshot: series %d: open chunk: %w", ss.ref, err)
	}
	ss.open.chunk = nc
	return ss, nil
}

// histFlagPos is the byte of a histogram chunk's header holding its
// counter reset header (upstream's histogramFlagPos).
const histFlagPos = 2

// reappendHistChunk rebuilds histogram chunk c by appending its samples to
// a new chunk, sets ss.lastH or ss.lastFH to its newest sample, and checks
// that the new chunk has c's bytes.
func reappendHistChunk(c chunkenc.Chunk, ss *snapSeries) (chunkenc.Chunk, error) {
	nc, err := chunkenc.NewEmptyChunk(c.Encoding())
	if err != nil {
		return nil, err
	}
	app, err := nc.Appender()
	if err != nil {
		return nil, err
	}
	it := c.Iterator(nil)
	for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
		var newChunk chunkenc.Chunk
		switch typ {
		case chunkenc.ValHistogram:
			t, hh := it.AtHistogram(nil)
			newChunk, _, app, err = app.AppendHistogram(nil, 0, t, hh, true)
			ss.lastH = hh
		case chunkenc.ValFloatHistogram:
			t, fh := it.AtFloatHistogram(nil)
			newChunk, _, app, err = app.AppendFloatHistogram(nil, 0, t, fh, true)
			ss.lastFH = fh
		default:
			return nil, fmt.Errorf("a %s sample in a %s chunk", typ, c.Encoding())
		}
		if err == nil && newChunk != nil {
			err = errors.New("its samples do not fit one chunk")
		}
		if err != nil {
			return nil, err
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	ob, nb := c.Bytes(), nc.Bytes()
	if c.NumSamples() == 0 || len(ob) <= histFlagPos || len(nb) != len(ob) {
		return nil, errors.New("its samples do not re-encode to its bytes")
	}
	nb[histFlagPos] = ob[histFlagPos] // Bytes aliases the chunk: this sets its counter reset header.
	if !bytes.Equal(nb, ob) {
		return nil, errors.New("its samples do not re-encode to its bytes")
	}
	return nc, nil
}

// parseSnapshotName returns the WAL position a snapshot's name records.
func parseSnapshotName(name string) (seg uint64, off int64, ok bool) {
	rest, found := strings.CutPrefix(name, snapshotPrefix)
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, ".")
	if !found {
		return 0, 0, false
	}
	s, err1 := strconv.ParseUint(a, 10, 64)
	o, err2 := strconv.ParseInt(b, 10, 64)
	return s, o, err1 == nil && err2 == nil
}

// loadSnapshot restores the head from its snapshot if there is one and the
// WAL ends where it does, and deletes every snapshot file it finds. It
// reports whether the head was restored; every failure means "replay".
func (h *Head) loadSnapshot() bool {
	dir := h.opts.SnapshotDir
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !os.IsNotExist(err) {
			h.logger.Warn("Could not list chunk snapshots, replaying the WAL", "dir", dir, "err", err)
		}
		return false
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), snapshotPrefix) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return false
	}
	defer func() {
		for _, n := range names {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				h.logger.Warn("Could not delete chunk snapshot", "file", n, "err", err)
			}
		}
	}()
	if !h.opts.SnapshotOnShutdown {
		h.logger.Info("Chunk snapshot found with memory-snapshot-on-shutdown off: deleting it, replaying the WAL", "files", names)
		return false
	}
	var use string
	for _, n := range names {
		if _, _, ok := parseSnapshotName(n); ok && n > use { // Fixed-width numbers: the newest sorts last.
			use = n
		}
	}
	if use == "" {
		return false
	}
	start := time.Now()
	h.logger.Info("Chunk snapshot is enabled, replaying from the snapshot", "file", use)
	end, err := walEndOf(h.wal)
	if err != nil {
		h.logger.Warn("Could not read where the WAL ends, replaying the WAL", "err", err)
		return false
	}
	if snapshotName(end) != use {
		h.logger.Warn("WAL does not end where the chunk snapshot was taken, removing snapshots and replaying the WAL", "snapshot", use, "wal_end", snapshotName(end))
		return false
	}
	b, err := os.ReadFile(filepath.Join(dir, use))
	if err != nil {
		h.logger.Error("Failed to load chunk snapshot", "err", err)
		return false
	}
	snap, err := decodeSnapshot(b)
	if err == nil && snap.end != end {
		err = fmt.Errorf("snapshot records WAL end %+v, the WAL ends at %+v", snap.end, end)
	}
	if err != nil {
		h.logger.Error("Failed to load chunk snapshot", "err", err)
		return false
	}
	chunks := h.applySnapshot(snap)
	// Prometheus's lines (it then replays the WAL after the snapshot's
	// position; here there is nothing after it).
	elapsed := time.Since(start)
	h.metrics.replayDuration.Set(elapsed.Seconds())
	h.logger.Info("chunk snapshot loaded", "dir", filepath.Join(dir, use), "num_series", len(snap.series), "chunks", chunks, "duration", elapsed.String())
	h.logger.Info("Chunk snapshot loading time", "duration", elapsed.String())
	return true
}

// applySnapshot restores a decoded snapshot into the new head; it returns
// the number of in-order chunks.
func (h *Head) applySnapshot(snap *headSnapshot) int {
	for _, rs := range snap.series {
		s, _ := h.getOrCreateWithRef(rs.Ref, rs.Labels, h.indexNew)
		s.logged.Store(true)
	}
	for {
		cur := h.lastRef.Load()
		if snap.lastRef <= cur || h.lastRef.CompareAndSwap(cur, snap.lastRef) {
			break
		}
	}
	chunks := 0
	for i := range snap.chunks {
		ss := &snap.chunks[i]
		s := h.series.getByID(ss.ref)
		if s == nil {
			continue // Its series record said otherwise: decodeSnapshot counts them.
		}
		s.mu.Lock()
		s.mu.sealed = ss.sealed
		chunks += len(ss.sealed)
		if ss.hasOpen {
			chunks++
			s.mu.hasOpen = true
			s.mu.open = openChunk{minTime: ss.open.mint, maxTime: ss.open.maxt}
			if ss.isXOR {
				s.mu.xor = ss.xor
				s.mu.hist = nil
			} else {
				hs := s.histLocked()
				hs.chunk = ss.open.chunk
				hs.app, _ = ss.open.chunk.Appender() // Rebuilt by decodeSnapshot: cannot fail.
				hs.lastH, hs.lastFH = ss.lastH, ss.lastFH
				hs.histEnd = ss.histEnd
			}
			s.mu.nextAt = ss.nextAt
		}
		s.mu.Unlock()
	}
	for _, m := range snap.metas {
		if s := h.series.getByID(m.Ref); s != nil {
			md := metadata.Metadata{Type: m.Type, Unit: m.Unit, Help: m.Help}
			s.mu.Lock()
			s.mu.meta = &md
			s.mu.Unlock()
		}
	}
	ooo := func(ref wal.SeriesRef, o oooSample) {
		if s := h.series.getByID(ref); s != nil {
			s.mu.Lock()
			s.insertOOOLocked(o)
			s.mu.Unlock()
		}
	}
	for _, x := range snap.floats {
		ooo(x.Ref, oooSample{t: x.T, v: x.V})
	}
	for _, x := range snap.hists {
		ooo(x.Ref, oooSample{t: x.T, h: x.H})
	}
	for _, x := range snap.fhists {
		ooo(x.Ref, oooSample{t: x.T, fh: x.FH})
	}
	for _, x := range snap.exemplars {
		if s := h.series.getByID(x.Ref); s != nil {
			_ = h.exemplars.add(s.ref, s.lset, exemplar.Exemplar{Labels: x.Labels, Value: x.V, Ts: x.T, HasTs: true})
		}
	}
	if snap.minTime <= snap.maxTime && snap.minTime != math.MaxInt64 {
		h.updateMinMax(snap.minTime, snap.maxTime)
	}
	h.walBytes.Store(snap.walBytes)
	h.metrics.chunksCreated.Add(float64(chunks))
	h.metrics.chunks.Add(float64(chunks))
	if chunks > 0 {
		h.recodeAll() // Writes the restored chunks to the chunk files.
	}
	return chunks
}
