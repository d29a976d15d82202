package block

import (
	"encoding/binary"
	"hash/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// decoder reads varints and fixed-width integers from b, which starts at
// byte base of file. The first failure is kept in err (a *CorruptError with
// the file and offset); later reads then return zero values.
type decoder struct {
	b    []byte
	pos  int
	base int64
	file string
	err  error
}

func newDecoder(file string, b []byte, base int64) decoder {
	return decoder{b: b, base: base, file: file}
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = corruptf(d.file, d.base+int64(d.pos), format, args...)
	}
}

func (d *decoder) offset() int64  { return d.base + int64(d.pos) }
func (d *decoder) remaining() int { return len(d.b) - d.pos }

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.pos:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.pos += n
	return v
}

// count reads a uvarint element count and checks that the rest of the input
// can hold that many elements of at least minSize bytes each, so a hostile
// count never makes the caller allocate more than the input's size.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(d.remaining()/minSize) {
		d.fail("count %d exceeds the remaining %d bytes", n, d.remaining())
		return 0
	}
	return int(n)
}

func (d *decoder) u32() uint32 {
	if d.err != nil {
		return 0
	}
	if d.remaining() < 4 {
		d.fail("short uint32")
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b[d.pos:])
	d.pos += 4
	return v
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > d.remaining() {
		d.fail("%d bytes past the end", n)
		return nil
	}
	b := d.b[d.pos : d.pos+n]
	d.pos += n
	return b
}

// end fails unless every byte was consumed.
func (d *decoder) end() {
	if d.err == nil && d.pos != len(d.b) {
		d.fail("%d trailing bytes", len(d.b)-d.pos)
	}
}
