package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// readChunk is how much of a file is read at a time.
const readChunk = 1 << 20

// errFrame describes why a frame was rejected.
var (
	errBadCRC       = errors.New("checksum mismatch")
	errTornFrame    = errors.New("frame runs past the end of the file")
	errBadKind      = errors.New("unknown frame kind")
	errBadEndFrame  = errors.New("end frame with a payload")
	errNonZeroTail  = errors.New("non-zero bytes after the end of the data")
	errMissingEnd   = errors.New("segment ends without an end frame")
	errFrameTooLong = errors.New("frame longer than the file")
)

// scanResult is what scanFrames found.
type scanResult struct {
	records int
	end     int64 // offset just past the last valid record frame
	closed  bool  // ended by an end frame
	// corruptAt/corruptErr describe the first bad frame, if any. Nothing from
	// corruptAt on is read.
	corrupt    bool
	corruptAt  int64
	corruptErr error
}

// frameScanner reads the frames of one file. Its buffer is reused from file
// to file; the payloads handed to fn alias it.
type frameScanner struct {
	buf []byte
	dec []byte // decompressed record of a compressed frame
	// recEnd is, while fn runs, the offset (in the scanned file) just past
	// the frame of the record fn is given: a compressed frame is shorter
	// than its record, so callers tracking positions use this.
	recEnd int64
}

// scan reads the frames of f (size bytes) in order, calling fn with each
// record payload. It stops at the first end frame, at a zero header (the
// preallocated tail) or at the first bad frame, which it reports in the
// result rather than as an error. The error is an I/O error or fn's.
func (s *frameScanner) scan(f File, size int64, fn func(rec []byte) error) (scanResult, error) {
	var res scanResult
	if cap(s.buf) < readChunk {
		s.buf = make([]byte, readChunk)
	}
	buf := s.buf[:cap(s.buf)]
	var (
		bufOff int64 // file offset of buf[0]
		lo, hi int   // valid data is buf[lo:hi]
		eof    bool
	)
	// fill makes sure buf[lo:] holds at least n bytes unless the file ends.
	fill := func(n int) error {
		if hi-lo >= n || eof {
			return nil
		}
		if n > len(buf) {
			nb := make([]byte, n)
			copy(nb, buf[lo:hi])
			s.buf = nb
			buf = nb
		} else {
			copy(buf, buf[lo:hi])
		}
		bufOff += int64(lo)
		hi -= lo
		lo = 0
		for hi < n && !eof {
			want := len(buf) - hi
			if rest := size - (bufOff + int64(hi)); int64(want) > rest {
				want = int(rest)
			}
			if want <= 0 {
				eof = true
				break
			}
			m, err := f.ReadAt(buf[hi:hi+want], bufOff+int64(hi))
			hi += m
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if m == 0 {
				eof = true
			}
		}
		return nil
	}
	corrupt := func(at int64, err error) (scanResult, error) {
		res.corrupt, res.corruptAt, res.corruptErr = true, at, err
		return res, nil
	}
	for {
		if err := fill(frameHeaderSize); err != nil {
			return res, err
		}
		off := bufOff + int64(lo)
		if hi-lo < frameHeaderSize {
			if allZero(buf[lo:hi]) {
				return res, nil // clean end of file
			}
			return corrupt(off, errTornFrame)
		}
		hdr := buf[lo : lo+frameHeaderSize]
		if allZero(hdr) {
			// The preallocated tail: everything from here must be zero.
			if ok, err := zeroFrom(f, size, off); err != nil {
				return res, err
			} else if !ok {
				return corrupt(off, errNonZeroTail)
			}
			return res, nil
		}
		length := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		crc := binary.LittleEndian.Uint32(hdr[4:8])
		kind := hdr[8]
		if length > size-off-frameHeaderSize {
			return corrupt(off, errTornFrame)
		}
		if kind != frameRecord && kind != frameEnd && kind != frameSnappy && kind != frameZstd {
			return corrupt(off, errBadKind)
		}
		need := frameHeaderSize + int(length)
		if err := fill(need); err != nil {
			return res, err
		}
		if hi-lo < need {
			return corrupt(off, errTornFrame)
		}
		payload := buf[lo+frameHeaderSize : lo+need]
		if frameCRC(uint32(length), kind, payload) != crc {
			return corrupt(off, errBadCRC)
		}
		if kind == frameEnd {
			if length != 0 {
				return corrupt(off, errBadEndFrame)
			}
			res.closed = true
			return res, nil
		}
		rec := payload
		if fn != nil && kind != frameRecord {
			var err error
			if rec, s.dec, err = decompress(kind, payload, s.dec); err != nil {
				// The checksum held, so the bytes are what was written:
				// damage all the same, and nothing after it is read.
				return corrupt(off, err)
			}
		}
		lo += need
		res.end = off + int64(need)
		res.records++
		s.recEnd = res.end
		if fn != nil {
			if err := fn(rec); err != nil {
				return res, err
			}
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// zeroFrom reports whether f holds only zero bytes from off to size. When
// the file can find holes, only its data ranges are read: the unwritten
// preallocated extents of a segment cost nothing. The ranges are all found
// before reading, since reading (and its readahead) turns cached zero pages
// into data for SEEK_DATA.
func zeroFrom(f File, size, off int64) (bool, error) {
	ranges := [][2]int64{{off, size}}
	if sf, ok := f.(sparseFile); ok {
		ranges = ranges[:0]
		for pos := off; pos < size; {
			d, err := sf.NextData(pos, size)
			if err != nil {
				return false, fmt.Errorf("seek data: %w", err)
			}
			if d >= size {
				break
			}
			h, err := sf.NextHole(d, size)
			if err != nil {
				return false, fmt.Errorf("seek hole: %w", err)
			}
			if h <= d {
				h = size
			}
			ranges = append(ranges, [2]int64{max(d, pos), h})
			pos = h
		}
	}
	var buf []byte
	for _, r := range ranges {
		for o := r[0]; o < r[1]; {
			if buf == nil {
				buf = make([]byte, 256<<10)
			}
			n := min(int64(len(buf)), r[1]-o)
			m, err := f.ReadAt(buf[:n], o)
			if !allZero(buf[:m]) {
				return false, nil
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					return true, nil
				}
				return false, fmt.Errorf("read: %w", err)
			}
			o += int64(m)
		}
	}
	return true, nil
}
