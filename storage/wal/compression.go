package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
)

// Compression names for Options.Compression, as Prometheus's
// --storage.tsdb.wal-compression-type spells them.
const (
	CompressionNone   = "none"
	CompressionSnappy = "snappy"
	CompressionZstd   = "zstd"
)

// Compressed records are frames of their own kinds (FORMAT.md): the payload
// is the record compressed with the codec's block format. Readers decompress
// whatever kind they meet, so a WAL may mix kinds (the compression changed
// between restarts, or a record did not get smaller and went uncompressed).
const (
	frameSnappy byte = 3
	frameZstd   byte = 4
)

var errBadCompressed = errors.New("compressed record does not decode")

// zstd coders are safe for concurrent EncodeAll/DecodeAll and keep their own
// pools of state: one of each per process. SpeedFastest is what Prometheus
// uses for its WAL; the decoder's memory cap keeps a damaged (or crafted)
// frame from claiming more than a segment could ever hold.
var (
	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
	zstdDec  *zstd.Decoder
	zstdErr  error
)

func zstdCoders() (*zstd.Encoder, *zstd.Decoder, error) {
	zstdOnce.Do(func() {
		zstdEnc, zstdErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithLowerEncoderMem(true), zstd.WithZeroFrames(true))
		if zstdErr != nil {
			return
		}
		zstdDec, zstdErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<32),
			zstd.IgnoreChecksum(true))
	})
	return zstdEnc, zstdDec, zstdErr
}

// appendRecordFrame appends rec as one frame to dst, compressed with kind
// (frameSnappy, frameZstd) when that makes it smaller, else as a plain
// record frame. The compressed bytes are written in place after the header:
// with enough capacity in dst it does not allocate.
func appendRecordFrame(dst []byte, kind byte, rec []byte) []byte {
	start := len(dst)
	switch kind {
	case frameSnappy:
		need := start + frameHeaderSize + snappy.MaxEncodedLen(len(rec))
		if cap(dst) < need {
			dst = growBuf(dst, need-start)
		}
		enc := snappy.Encode(dst[start+frameHeaderSize:need], rec)
		dst = dst[:start+frameHeaderSize+len(enc)]
	case frameZstd:
		enc, _, err := zstdCoders()
		if err != nil { // cannot happen with constant options; fall back to plain
			return appendFrame(dst, frameRecord, rec)
		}
		if cap(dst) < start+frameHeaderSize {
			dst = growBuf(dst, frameHeaderSize+len(rec))
		}
		dst = enc.EncodeAll(rec, dst[:start+frameHeaderSize])
	default:
		return appendFrame(dst, frameRecord, rec)
	}
	payload := dst[start+frameHeaderSize:]
	if len(payload) >= len(rec) {
		return appendFrame(dst[:start], frameRecord, rec)
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], payloadCRC(kind, payload))
	dst[start+8] = kind
	return dst
}

// decompress returns the record held by a compressed frame's payload,
// decoded into scratch (grown as needed and returned for reuse).
func decompress(kind byte, payload, scratch []byte) (rec, grown []byte, err error) {
	switch kind {
	case frameSnappy:
		n, err := snappy.DecodedLen(payload)
		if err != nil {
			return nil, scratch, fmt.Errorf("%w: snappy: %v", errBadCompressed, err)
		}
		if n > maxFrameLen {
			return nil, scratch, fmt.Errorf("%w: snappy: %d bytes decoded", errBadCompressed, n)
		}
		if cap(scratch) < n {
			scratch = make([]byte, n)
		}
		rec, err := snappy.Decode(scratch[:cap(scratch)], payload)
		if err != nil {
			return nil, scratch, fmt.Errorf("%w: snappy: %v", errBadCompressed, err)
		}
		return rec, scratch, nil
	case frameZstd:
		_, dec, err := zstdCoders()
		if err != nil {
			return nil, scratch, err
		}
		rec, err := dec.DecodeAll(payload, scratch[:0])
		if err != nil {
			return nil, scratch, fmt.Errorf("%w: zstd: %v", errBadCompressed, err)
		}
		if cap(rec) > cap(scratch) {
			scratch = rec[:0]
		}
		return rec, scratch, nil
	}
	return nil, scratch, errBadKind
}

// frameKindFor maps Options.Compression to the frame kind records get.
func frameKindFor(compression string) byte {
	switch compression {
	case CompressionSnappy:
		return frameSnappy
	case CompressionZstd:
		return frameZstd
	}
	return frameRecord
}
