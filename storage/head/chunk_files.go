package head

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"golang.org/x/sys/unix"

	ourchunks "mytsdb/storage/chunkenc"
	"mytsdb/storage/wal"
)

// The head's chunk segment files (FORMAT.md beside this file): sealed head
// chunks are appended to them with pwrite and read back through a read-only
// mmap of each file, so that they cost the Go heap only their 8-byte
// reference. They are a cache of what the WAL holds: Open deletes every
// segment a previous run left, and the WAL replay rebuilds the chunks (and
// writes them again), so a torn or lost segment never loses data.

// DefaultChunkSegmentSize is the largest head chunk segment file
// (Prometheus's chunks_head files are 128 MiB at most too).
const DefaultChunkSegmentSize = 128 << 20

// minChunkSegmentSize keeps a segment larger than any one chunk record (a
// histogram chunk is cut at about 1 KiB, twice that at most).
const minChunkSegmentSize = 4 << 10

const (
	chunkSegmentMagic   = "MYHC"
	chunkSegmentVersion = 1
	// chunkSegmentHeaderSize: magic, version, 3 zero bytes.
	chunkSegmentHeaderSize = 8
	// chunkRecordFixed is a record's fixed prefix: series ref, mint, maxt,
	// encoding. The data length (uvarint) follows it, then the data, then
	// the CRC32C of all of it.
	chunkRecordFixed = 8 + 8 + 8 + 1
	chunkRecordCRC   = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SegmentNum numbers the head's chunk segment files (file name: 8 digits).
type SegmentNum uint32

// chunkDiskRef locates a chunk record: segment number in the upper 32 bits,
// the record's byte offset in the file in the lower 32. 0 is no record
// (segment 0 does not exist).
type chunkDiskRef uint64

func newChunkDiskRef(seg SegmentNum, off uint32) chunkDiskRef {
	return chunkDiskRef(uint64(seg)<<32 | uint64(off))
}

func (r chunkDiskRef) unpack() (SegmentNum, uint32) {
	return SegmentNum(r >> 32), uint32(r)
}

// chunkSegment is one segment file, mapped read-only over its whole
// maximum size (the file grows into the mapping as records are written;
// only written bytes are ever read).
type chunkSegment struct {
	num  SegmentNum
	path string
	data []byte // the mapping
	// maxt is the newest chunk maxt written to it, guarded by chunkFiles.mu.
	maxt int64
	// size is the bytes written, stored by the writer, read by Size.
	size atomic.Int64
}

// chunkFiles is the head's directory of chunk segment files.
//
// Lock order: a series lock, then mu (readers); the writer takes mu alone.
// mu is held shared while a reader copies a chunk out of a mapping and
// exclusively to unmap one, so no read ever touches an unmapped page.
type chunkFiles struct {
	dir     string
	maxSize int64

	mu struct {
		sync.RWMutex
		segs   map[SegmentNum]*chunkSegment
		cur    *chunkSegment
		curF   *os.File
		next   SegmentNum
		closed bool
	}
	// written is the bytes written since open.
	written atomic.Int64
}

// openChunkFiles creates dir if needed and deletes every segment file in
// it: the WAL replay rebuilds what they held.
func openChunkFiles(dir string, maxSize int64) (*chunkFiles, error) {
	if maxSize <= 0 {
		maxSize = DefaultChunkSegmentSize
	}
	if maxSize > math.MaxUint32 {
		return nil, fmt.Errorf("head: chunk segment size %d over 4 GiB", maxSize)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("head: chunk files: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("head: chunk files: %w", err)
	}
	for _, e := range ents {
		if _, ok := parseSegmentName(e.Name()); ok || filepath.Ext(e.Name()) == ".tmp" {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("head: chunk files: remove old segment: %w", err)
			}
		}
	}
	f := &chunkFiles{dir: dir, maxSize: maxSize}
	f.mu.segs = map[SegmentNum]*chunkSegment{}
	f.mu.next = 1
	return f, nil
}

func segmentName(n SegmentNum) string { return fmt.Sprintf("%08d", n) }

func parseSegmentName(s string) (SegmentNum, bool) {
	if len(s) != 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return SegmentNum(n), true
}

// rotateLocked closes the current segment for writing and starts the next.
func (f *chunkFiles) rotateLocked() error {
	if f.mu.curF != nil {
		if err := f.mu.curF.Close(); err != nil {
			return fmt.Errorf("head: close chunk segment: %w", err)
		}
		f.mu.curF, f.mu.cur = nil, nil
	}
	n := f.mu.next
	path := filepath.Join(f.dir, segmentName(n))
	file, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("head: create chunk segment: %w", err)
	}
	var hdr [chunkSegmentHeaderSize]byte
	copy(hdr[:], chunkSegmentMagic)
	hdr[4] = chunkSegmentVersion
	if _, err := file.WriteAt(hdr[:], 0); err != nil {
		_ = file.Close()
		_ = os.Remove(path)
		return fmt.Errorf("head: write chunk segment header: %w", err)
	}
	data, err := unix.Mmap(int(file.Fd()), 0, int(f.maxSize), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		_ = file.Close()
		_ = os.Remove(path)
		return fmt.Errorf("head: mmap chunk segment: %w", err)
	}
	seg := &chunkSegment{num: n, path: path, data: data, maxt: math.MinInt64}
	seg.size.Store(chunkSegmentHeaderSize)
	f.mu.next++
	f.mu.segs[n] = seg
	f.mu.cur, f.mu.curF = seg, file
	return nil
}

// write appends the encoded records of one batch (appendChunkRecord) to
// the current segment, rotating first if they do not fit, and returns the
// segment and the offset where the batch starts. maxt is the newest chunk
// maxt in the batch.
func (f *chunkFiles) write(batch []byte, maxt int64) (SegmentNum, uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.closed {
		return 0, 0, errors.New("head: chunk files closed")
	}
	if int64(len(batch)) > f.maxSize-chunkSegmentHeaderSize {
		return 0, 0, fmt.Errorf("head: chunk batch of %d bytes over the segment size %d", len(batch), f.maxSize)
	}
	if f.mu.cur == nil || f.mu.cur.size.Load()+int64(len(batch)) > f.maxSize {
		if err := f.rotateLocked(); err != nil {
			return 0, 0, err
		}
	}
	seg := f.mu.cur
	off := seg.size.Load()
	if _, err := f.mu.curF.WriteAt(batch, off); err != nil {
		// The bytes after off are garbage now; the next batch overwrites
		// them, and no reference points there.
		return 0, 0, fmt.Errorf("head: write chunk segment %s: %w", seg.path, err)
	}
	seg.size.Store(off + int64(len(batch)))
	seg.maxt = max(seg.maxt, maxt)
	f.written.Add(int64(len(batch)))
	return seg.num, uint32(off), nil
}

// appendChunkRecord appends the record of one chunk to dst.
func appendChunkRecord(dst []byte, ref wal.SeriesRef, mint, maxt int64, enc chunkenc.Encoding, data []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(ref))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(mint))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(maxt))
	dst = append(dst, byte(enc))
	dst = binary.AppendUvarint(dst, uint64(len(data)))
	dst = append(dst, data...)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// chunkRecord is one decoded record.
type chunkRecord struct {
	ref        wal.SeriesRef
	mint, maxt int64
	enc        chunkenc.Encoding
	data       []byte // aliases the input
	size       int    // the record's bytes
}

// errTornRecord is a record cut short or failing its checksum: the end of
// a segment's valid content.
var errTornRecord = errors.New("torn or corrupt head chunk record")

// decodeChunkRecord decodes the record at the start of b. verify checks
// its CRC32C (scans do; reads of records this process wrote do not).
func decodeChunkRecord(b []byte, verify bool) (chunkRecord, error) {
	if len(b) < chunkRecordFixed+1+chunkRecordCRC {
		return chunkRecord{}, errTornRecord
	}
	n, k := binary.Uvarint(b[chunkRecordFixed:])
	if k <= 0 || n > uint64(len(b)) {
		return chunkRecord{}, errTornRecord
	}
	end := chunkRecordFixed + k + int(n)
	if end+chunkRecordCRC > len(b) {
		return chunkRecord{}, errTornRecord
	}
	if verify && crc32.Checksum(b[:end], castagnoli) != binary.LittleEndian.Uint32(b[end:]) {
		return chunkRecord{}, errTornRecord
	}
	return chunkRecord{
		ref:  wal.SeriesRef(binary.LittleEndian.Uint64(b)),
		mint: int64(binary.LittleEndian.Uint64(b[8:])),
		maxt: int64(binary.LittleEndian.Uint64(b[16:])),
		enc:  chunkenc.Encoding(b[24]),
		data: b[chunkRecordFixed+k : end],
		size: end + chunkRecordCRC,
	}, nil
}

// scanChunkSegment returns the valid records of a segment file's content,
// in order, up to the first torn one (a crash may cut the tail); the error
// says whether it stopped early. It is for tests and tools: the head never
// reads a previous run's segments.
func scanChunkSegment(b []byte) ([]chunkRecord, error) {
	if len(b) < chunkSegmentHeaderSize || string(b[:4]) != chunkSegmentMagic {
		return nil, fmt.Errorf("head chunk segment: bad header: %w", errTornRecord)
	}
	if b[4] != chunkSegmentVersion {
		return nil, fmt.Errorf("head chunk segment: version %d unknown", b[4])
	}
	var out []chunkRecord
	for off := chunkSegmentHeaderSize; off < len(b); {
		r, err := decodeChunkRecord(b[off:], true)
		if err != nil {
			if allZero(b[off:]) {
				return out, nil // Preallocated or never written.
			}
			return out, fmt.Errorf("head chunk segment at offset %d: %w", off, err)
		}
		out = append(out, r)
		off += r.size
	}
	return out, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// recordLocked decodes the record at ref (f.mu held shared); its data
// aliases the mapping, valid while f.mu is held.
func (f *chunkFiles) recordLocked(ref chunkDiskRef) (chunkRecord, error) {
	n, off := ref.unpack()
	seg := f.mu.segs[n]
	if seg == nil || f.mu.closed {
		return chunkRecord{}, fmt.Errorf("head: chunk %d: segment %d not open", ref, n)
	}
	size := seg.size.Load()
	if int64(off) >= size {
		return chunkRecord{}, fmt.Errorf("head: chunk %d: past the end of segment %d", ref, n)
	}
	r, err := decodeChunkRecord(seg.data[off:size], false)
	if err != nil {
		return chunkRecord{}, fmt.Errorf("head: chunk %d: %w", ref, err)
	}
	return r, nil
}

// readLocked returns a heap copy of the chunk at ref (f.mu held shared).
// Copying keeps unmapping simple: no chunk handed out refers to a mapping.
func (f *chunkFiles) readLocked(ref chunkDiskRef) (chunkenc.Chunk, error) {
	var a chunkArena
	return a.read(f, ref)
}

// chunkArena holds the copies of the chunks of one series snapshot: one
// allocation for their bytes and one for our codec's chunk headers, sized
// by reserve, rather than two per chunk.
type chunkArena struct {
	bytes  []byte
	sealed []ourchunks.SealedChunk
}

// reserve sizes the arena for the chunk at ref (call it for every chunk
// before the first read; f.mu held shared).
func (a *chunkArena) reserve(f *chunkFiles, ref chunkDiskRef, nBytes, nFloat *int) error {
	r, err := f.recordLocked(ref)
	if err != nil {
		return err
	}
	*nBytes += len(r.data)
	if r.enc == ourchunks.EncFloat {
		*nFloat++
	}
	return nil
}

// read copies the chunk at ref into the arena (f.mu held shared). Reads
// past what was reserved still work, with allocations of their own.
func (a *chunkArena) read(f *chunkFiles, ref chunkDiskRef) (chunkenc.Chunk, error) {
	r, err := f.recordLocked(ref)
	if err != nil {
		return nil, err
	}
	var data []byte
	if cap(a.bytes)-len(a.bytes) >= len(r.data) {
		start := len(a.bytes)
		a.bytes = append(a.bytes, r.data...)
		data = a.bytes[start:len(a.bytes):len(a.bytes)]
	} else {
		data = slices.Clone(r.data)
	}
	if r.enc != ourchunks.EncFloat {
		return chunkenc.FromData(r.enc, data)
	}
	if len(a.sealed) == cap(a.sealed) {
		return ourchunks.NewSealedChunk(data), nil
	}
	a.sealed = append(a.sealed, ourchunks.SealedChunk{})
	c := &a.sealed[len(a.sealed)-1] // Stable: the slice never grows past its capacity.
	c.Reset(data)
	return c, nil
}

// deleteOlder unmaps and deletes the segments (but the one being written)
// whose chunks all end before mint: the head dropped every such chunk.
func (f *chunkFiles) deleteOlder(mint int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for n, seg := range f.mu.segs {
		if seg == f.mu.cur || seg.maxt >= mint {
			continue
		}
		delete(f.mu.segs, n)
		if err := unix.Munmap(seg.data); err != nil {
			errs = append(errs, fmt.Errorf("head: unmap chunk segment %s: %w", seg.path, err))
		}
		if err := os.Remove(seg.path); err != nil {
			errs = append(errs, fmt.Errorf("head: delete chunk segment: %w", err))
		}
	}
	return errors.Join(errs...)
}

// dontNeed drops the mapped pages from the process (they stay in the page
// cache): after a pass that read every chunk (a checkpoint), so that the
// resident set is not the sum of all segments.
func (f *chunkFiles) dontNeed() {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, seg := range f.mu.segs {
		_ = unix.Madvise(seg.data, unix.MADV_DONTNEED)
	}
}

// Size is the bytes written to the live segments.
func (f *chunkFiles) Size() int64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var n int64
	for _, seg := range f.mu.segs {
		n += seg.size.Load()
	}
	return n
}

// numSegments is the number of live segment files.
func (f *chunkFiles) numSegments() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.mu.segs)
}

// close unmaps every segment and closes the one being written. The files
// stay: the next Open deletes them.
func (f *chunkFiles) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.closed {
		return nil
	}
	f.mu.closed = true
	var errs []error
	for _, seg := range f.mu.segs {
		errs = append(errs, unix.Munmap(seg.data))
	}
	f.mu.segs = nil
	if f.mu.curF != nil {
		errs = append(errs, f.mu.curF.Close())
	}
	f.mu.cur, f.mu.curF = nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("head: close chunk files: %w", err)
	}
	return nil
}
