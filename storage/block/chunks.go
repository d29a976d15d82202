package block

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"golang.org/x/sys/unix"

	ourchunks "mytsdb/storage/chunkenc"
)

// ChunkRef locates a chunk: its segment file's number in the upper 32 bits,
// the byte offset of the chunk in that file in the lower 32.
type ChunkRef uint64

func newChunkRef(seg, off uint32) ChunkRef { return ChunkRef(uint64(seg)<<32 | uint64(off)) }

// Segment is the number of the chunk's segment file (chunks/000001 is 1).
func (r ChunkRef) Segment() uint32 { return uint32(r >> 32) }

// Offset is the chunk's byte offset in its segment file.
func (r ChunkRef) Offset() uint32 { return uint32(r) }

const (
	chunksDirname = "chunks"
	// MaxSegmentSize is the largest a chunk segment file grows to (a chunk
	// larger than a whole segment gets one to itself).
	MaxSegmentSize = 512 << 20

	chunkMagic        = 0x4D544348 // "MTCH"
	chunkFormatV1     = 1
	segmentHeaderSize = 5 // magic u32 big endian, version u8
	// maxChunkLen bounds a chunk's data length; the upstream encodings
	// stay far below it.
	maxChunkLen = 16 << 20

	// encFloatElided is the segment encoding byte of an EncFloat chunk
	// stored without its first timestamp (ElideFirstTimestamp), which is
	// the chunk's mint in the index. Readers present it as EncFloat.
	encFloatElided chunkenc.Encoding = ourchunks.EncFloat + 1
)

func segmentName(dir string, seg uint32) string {
	return filepath.Join(dir, chunksDirname, fmt.Sprintf("%06d", seg))
}

// chunkWriter appends chunks to numbered segment files under dir/chunks.
type chunkWriter struct {
	dir      string
	maxSize  int64
	f        *os.File
	bw       *bufio.Writer
	seg      uint32
	off      int64
	sizes    []int64 // of the closed segments, by number-1
	scratch  []byte
	elided   []byte // an EncFloat chunk without its first timestamp
	segCount int
}

func newChunkWriter(dir string, maxSize int64) (*chunkWriter, error) {
	if err := os.MkdirAll(filepath.Join(dir, chunksDirname), 0o755); err != nil {
		return nil, err
	}
	return &chunkWriter{dir: dir, maxSize: maxSize}, nil
}

func (w *chunkWriter) cut() error {
	if err := w.finishSegment(); err != nil {
		return err
	}
	w.seg++
	f, err := os.OpenFile(segmentName(w.dir, w.seg), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	w.f = f
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, 1<<20)
	} else {
		w.bw.Reset(f)
	}
	var hdr [segmentHeaderSize]byte
	binary.BigEndian.PutUint32(hdr[:], chunkMagic)
	hdr[4] = chunkFormatV1
	_, err = w.bw.Write(hdr[:])
	w.off = segmentHeaderSize
	return err
}

func (w *chunkWriter) finishSegment() error {
	if w.f == nil {
		return nil
	}
	err := w.bw.Flush()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	w.sizes = append(w.sizes, w.off)
	return err
}

// write appends one chunk: uvarint(len(data)) | encoding | data | CRC-32C
// of encoding and data; an EncFloat chunk, whose first sample must be at
// mint, goes without its first timestamp (encFloatElided).
func (w *chunkWriter) write(enc chunkenc.Encoding, data []byte, mint int64) (ChunkRef, error) {
	if enc == ourchunks.EncFloat {
		// The first timestamp is the index's mint: stored once, there.
		var t0 int64
		var err error
		if w.elided, t0, err = ourchunks.ElideFirstTimestamp(w.elided[:0], data); err != nil {
			return 0, fmt.Errorf("block: %w", err)
		}
		if t0 != mint {
			return 0, fmt.Errorf("block: chunk starts at %d, its meta at %d", t0, mint)
		}
		enc, data = encFloatElided, w.elided
	}
	if len(data) > maxChunkLen {
		return 0, fmt.Errorf("block: chunk of %d bytes is larger than %d", len(data), maxChunkLen)
	}
	b := binary.AppendUvarint(w.scratch[:0], uint64(len(data)))
	hdrLen := len(b)
	b = append(b, byte(enc))
	b = append(b, data...)
	b = binary.LittleEndian.AppendUint32(b, crc32c(b[hdrLen:]))
	w.scratch = b
	if w.f == nil || (w.off+int64(len(b)) > w.maxSize && w.off > segmentHeaderSize) {
		if err := w.cut(); err != nil {
			return 0, err
		}
	}
	if w.off+int64(len(b)) > 1<<32-1 {
		return 0, errors.New("block: chunk segment offset overflows 32 bits")
	}
	ref := newChunkRef(w.seg, uint32(w.off))
	if _, err := w.bw.Write(b); err != nil {
		return 0, err
	}
	w.off += int64(len(b))
	return ref, nil
}

// close finishes the last segment and fsyncs the chunks directory. It
// returns the size of every segment.
func (w *chunkWriter) close() ([]int64, error) {
	if err := w.finishSegment(); err != nil {
		return nil, err
	}
	return w.sizes, syncDir(filepath.Join(w.dir, chunksDirname))
}

// abort closes an open segment without syncing (the caller removes the
// directory).
func (w *chunkWriter) abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// chunkReader reads chunks from memory-mapped segment files.
type chunkReader struct {
	dir  string
	segs [][]byte // segment n at index n-1
}

// openChunks maps the segment files of dir; sizes (from the index) must
// match the files exactly, so a truncated or extended file is found here.
func openChunks(dir string, sizes []int64) (*chunkReader, error) {
	r := &chunkReader{dir: dir}
	for i, size := range sizes {
		name := segmentName(dir, uint32(i+1))
		b, err := mmapFile(name, size)
		if err != nil {
			r.close()
			return nil, err
		}
		r.segs = append(r.segs, b)
		if binary.BigEndian.Uint32(b) != chunkMagic || b[4] != chunkFormatV1 {
			err := corruptf(name, 0, "bad segment header %x", b[:segmentHeaderSize])
			r.close()
			return nil, err
		}
	}
	return r, nil
}

// mmapFile maps a whole file read-only, checking that it has the size the
// index recorded.
func mmapFile(name string, size int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &CorruptError{File: name, Offset: -1, Reason: "missing", Err: err}
		}
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.Size() != size {
		return nil, corruptf(name, info.Size(), "size %d, the index recorded %d", info.Size(), size)
	}
	if size < segmentHeaderSize || size > 1<<32 {
		return nil, corruptf(name, 0, "bad size %d", size)
	}
	return unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
}

// chunk returns the chunk at ref, whose first sample is at mint (the
// index's), after checking its CRC. The chunk's bytes are the mapping's:
// valid until close.
func (r *chunkReader) chunk(ref ChunkRef, mint int64) (chunkenc.Chunk, error) {
	seg, off := ref.Segment(), int(ref.Offset())
	if seg == 0 || int(seg) > len(r.segs) {
		return nil, corruptf(filepath.Join(r.dir, chunksDirname), -1, "chunk ref %#x names segment %d of %d", uint64(ref), seg, len(r.segs))
	}
	b := r.segs[seg-1]
	name := segmentName(r.dir, seg)
	if off < segmentHeaderSize || off >= len(b) {
		return nil, corruptf(name, int64(off), "chunk offset outside the file of %d bytes", len(b))
	}
	n, k := binary.Uvarint(b[off:])
	if k <= 0 || n > maxChunkLen {
		return nil, corruptf(name, int64(off), "bad chunk length")
	}
	start := off + k
	end := start + 1 + int(n) + 4
	if end > len(b) {
		return nil, corruptf(name, int64(off), "chunk of %d bytes runs past the end of the file (%d bytes)", n, len(b))
	}
	body := b[start : end-4]
	if got, want := crc32c(body), binary.LittleEndian.Uint32(b[end-4:]); got != want {
		return nil, corruptf(name, int64(off), "chunk checksum mismatch: computed %08x, stored %08x", got, want)
	}
	enc := chunkenc.Encoding(body[0])
	if enc == encFloatElided {
		// Our codec without the first timestamp: the index's mint.
		return ourchunks.NewSealedChunkAt(body[1:], mint), nil
	}
	if !ourchunks.IsValidEncoding(enc) {
		return nil, corruptf(name, int64(start), "unknown chunk encoding %d", enc)
	}
	if enc == ourchunks.EncFloat {
		// Read-only: the lean chunk type (one small allocation per chunk read).
		return ourchunks.NewSealedChunk(body[1:]), nil
	}
	c, err := ourchunks.FromData(enc, body[1:])
	if err != nil {
		return nil, &CorruptError{File: name, Offset: int64(off), Reason: "chunk", Err: err}
	}
	return c, nil
}

func (r *chunkReader) close() error {
	var errs []error
	for _, b := range r.segs {
		errs = append(errs, unix.Munmap(b))
	}
	r.segs = nil
	return errors.Join(errs...)
}
