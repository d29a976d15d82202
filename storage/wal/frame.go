package wal

import (
	"encoding/binary"
	"hash/crc32"
)

// A frame wraps one record in a segment or checkpoint file (see FORMAT.md):
//
//	length uint32 LE | crc32c uint32 LE | kind uint8 | payload (length bytes)
//
// The CRC32C (Castagnoli) covers the length bytes, the kind byte and the
// payload. A segment's last frame is an end frame (kind frameEnd, no
// payload), written when the segment is closed.
const (
	frameHeaderSize = 9

	frameRecord byte = 1 // payload is one record
	frameEnd    byte = 2 // no payload; nothing after it belongs to the file

	// maxFrameLen bounds a record's length: a frame never spans segments and
	// its length is a uint32.
	maxFrameLen = 1<<32 - 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameCRC computes the checksum of a frame from its length, kind and
// payload. The five header bytes go through the table by hand: handing a
// stack array to crc32.Update would move it to the heap.
func frameCRC(length uint32, kind byte, payload []byte) uint32 {
	crc := ^uint32(0)
	for _, b := range [5]byte{byte(length), byte(length >> 8), byte(length >> 16), byte(length >> 24), kind} {
		crc = castagnoli[byte(crc)^b] ^ (crc >> 8)
	}
	return crc32.Update(^crc, castagnoli, payload)
}

// payloadCRC is the checksum of a frame holding payload.
func payloadCRC(kind byte, payload []byte) uint32 {
	return frameCRC(uint32(len(payload)), kind, payload)
}

// appendFrame appends a frame whose CRC is already known.
func appendFrameCRC(dst []byte, kind byte, payload []byte, crc uint32) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc)
	dst = append(dst, kind)
	return append(dst, payload...)
}

// appendFrame appends a frame holding payload.
func appendFrame(dst []byte, kind byte, payload []byte) []byte {
	return appendFrameCRC(dst, kind, payload, payloadCRC(kind, payload))
}

// endFrame is the frame that closes a segment or checkpoint.
var endFrame = appendFrame(nil, frameEnd, nil)
