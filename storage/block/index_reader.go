package block

import (
	"encoding/binary"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"golang.org/x/sys/unix"
)

// indexReader reads an index file. Open checks every section's CRC and
// decodes the small tables (symbols, label names, segment sizes) into memory;
// series and postings are decoded from the mapping when asked for, and
// checked as they are decoded (a hostile but checksummed file gives errors,
// never a panic).
type indexReader struct {
	file string
	b    []byte
	mmap bool

	// symbols: symbol i is symData[symEnds[i-1]:symEnds[i]] (copied out of
	// the mapping, so labels never point into it).
	symData string
	symEnds []uint32

	names    []labelName // sorted by name
	ptab     []byte      // the postings offset table
	segSizes []int64

	seriesStart, seriesEnd     int64 // the first entry and the section's CRC
	timeBase, durBase          int64 // what first mints and durations are offsets from (0 in version 1)
	version                    byte
	postingsStart, postingsEnd int64
	allPostings                int64
}

// labelName is an entry of the label-names table: the name and its range
// of entries in the postings offset table.
type labelName struct {
	name         string
	first, count int
}

func openIndex(path string) (*indexReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.Size() < indexHeader+tocSize {
		return nil, corruptf(path, info.Size(), "index of %d bytes is too short", info.Size())
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(info.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	r, err := decodeIndex(path, b)
	if err != nil {
		unix.Munmap(b)
		return nil, err
	}
	r.mmap = true
	return r, nil
}

func (r *indexReader) close() error {
	if !r.mmap || r.b == nil {
		return nil
	}
	err := unix.Munmap(r.b)
	r.b = nil
	return err
}

// decodeIndex checks and decodes an index file's bytes. file names it in
// errors.
func decodeIndex(file string, b []byte) (*indexReader, error) {
	if len(b) < indexHeader+tocSize {
		return nil, corruptf(file, int64(len(b)), "index of %d bytes is too short", len(b))
	}
	if binary.BigEndian.Uint32(b) != indexMagic || (b[4] != indexFormatV1 && b[4] != indexFormatV2) {
		return nil, corruptf(file, 0, "bad index header %x", b[:indexHeader])
	}
	tocOff := len(b) - tocSize
	tocBody := b[tocOff : len(b)-4]
	if got, want := crc32c(tocBody), binary.LittleEndian.Uint32(b[len(b)-4:]); got != want {
		return nil, corruptf(file, int64(tocOff), "table of contents checksum mismatch: computed %08x, stored %08x", got, want)
	}
	var toc [tocEntries]int64
	for i := range toc {
		v := binary.LittleEndian.Uint64(tocBody[8*i:])
		if v > uint64(len(b)) {
			return nil, corruptf(file, int64(tocOff+8*i), "section offset %d beyond the file", v)
		}
		toc[i] = int64(v)
	}
	// Sections are contiguous from the header to the TOC; each ends with
	// its CRC-32C, so every byte of the file is covered.
	bounds := [7]int64{toc[0], toc[1], toc[2], toc[3], toc[4], toc[5], int64(tocOff)}
	if bounds[0] != indexHeader {
		return nil, corruptf(file, int64(tocOff), "symbols at %d, not after the header", bounds[0])
	}
	var sections [6][]byte
	for i := range sections {
		start, end := bounds[i], bounds[i+1]
		if end-start < 4 {
			return nil, corruptf(file, int64(tocOff+8*i), "section %d has bad bounds [%d, %d)", i, start, end)
		}
		body := b[start : end-4]
		if got, want := crc32c(body), binary.LittleEndian.Uint32(b[end-4:]); got != want {
			return nil, corruptf(file, start, "section %d checksum mismatch: computed %08x, stored %08x", i, got, want)
		}
		sections[i] = body
	}
	r := &indexReader{
		file:          file,
		b:             b,
		seriesStart:   bounds[1],
		seriesEnd:     bounds[2] - 4,
		postingsStart: bounds[2],
		postingsEnd:   bounds[3] - 4,
		allPostings:   toc[6],
		ptab:          sections[3],
		version:       b[4],
	}
	if r.version == indexFormatV2 {
		d := newDecoder(file, sections[1], bounds[1])
		r.timeBase = d.varint()
		r.durBase = d.varint()
		if d.err != nil {
			return nil, d.err
		}
		r.seriesStart += int64(d.pos)
	}
	if r.allPostings < r.postingsStart || r.allPostings >= r.postingsEnd {
		return nil, corruptf(file, int64(tocOff+8*6), "all-postings offset %d outside the postings section", r.allPostings)
	}
	if err := r.decodeSymbols(sections[0], bounds[0]); err != nil {
		return nil, err
	}
	if err := r.decodeNames(sections[4], bounds[4]); err != nil {
		return nil, err
	}
	if err := r.checkPostingsTable(bounds[3]); err != nil {
		return nil, err
	}
	d := newDecoder(file, sections[5], bounds[5])
	n := d.count(1)
	r.segSizes = make([]int64, 0, n)
	for range n {
		s := d.uvarint()
		if s > 1<<32 {
			d.fail("segment size %d", s)
		}
		r.segSizes = append(r.segSizes, int64(s))
	}
	d.end()
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

func (r *indexReader) decodeSymbols(sec []byte, base int64) error {
	d := newDecoder(r.file, sec, base)
	n := d.count(1)
	ends := make([]uint32, 0, n)
	var sb strings.Builder
	sb.Grow(len(sec))
	prev := ""
	for i := range n {
		s := d.bytes(int(min(d.uvarint(), uint64(len(sec)))))
		if d.err != nil {
			return d.err
		}
		if i > 0 && string(s) <= prev {
			d.fail("symbols not sorted and unique")
			return d.err
		}
		sb.Write(s)
		ends = append(ends, uint32(sb.Len()))
		prev = sb.String()[sb.Len()-len(s):]
	}
	d.end()
	if d.err != nil {
		return d.err
	}
	r.symData, r.symEnds = sb.String(), ends
	return nil
}

func (r *indexReader) numSymbols() int { return len(r.symEnds) }

// symbol returns the string of a symbol ref; ok is false for a ref out of
// range.
func (r *indexReader) symbol(ref uint64) (string, bool) {
	if ref >= uint64(len(r.symEnds)) {
		return "", false
	}
	start := uint32(0)
	if ref > 0 {
		start = r.symEnds[ref-1]
	}
	return r.symData[start:r.symEnds[ref]], true
}

// lookupSymbol returns the ref of s, if s is a symbol.
func (r *indexReader) lookupSymbol(s string) (symbolRef, bool) {
	i := sort.Search(len(r.symEnds), func(i int) bool {
		v, _ := r.symbol(uint64(i))
		return v >= s
	})
	if i < len(r.symEnds) {
		if v, _ := r.symbol(uint64(i)); v == s {
			return symbolRef(i), true
		}
	}
	return 0, false
}

func (r *indexReader) decodeNames(sec []byte, base int64) error {
	d := newDecoder(r.file, sec, base)
	n := d.count(2)
	r.names = make([]labelName, 0, n)
	total := len(r.ptab) / postingsEntry
	first := 0
	prev := -1
	for range n {
		ref := d.uvarint()
		count := d.uvarint()
		if d.err != nil {
			return d.err
		}
		name, ok := r.symbol(ref)
		if !ok || int64(ref) <= int64(prev) {
			d.fail("label name ref %d not a symbol or not sorted", ref)
			return d.err
		}
		if count == 0 || count > uint64(total-first) {
			d.fail("label name %q has %d entries, the table %d left", name, count, total-first)
			return d.err
		}
		prev = int(ref)
		r.names = append(r.names, labelName{name: name, first: first, count: int(count)})
		first += int(count)
	}
	d.end()
	if d.err == nil && (first != total || len(r.ptab)%postingsEntry != 0) {
		d.fail("label names cover %d of %d postings table entries", first, total)
	}
	return d.err
}

// checkPostingsTable checks that every entry's value is a symbol, values
// are sorted within a name, and offsets lie in the postings section.
func (r *indexReader) checkPostingsTable(base int64) error {
	for _, n := range r.names {
		prev := int64(-1)
		for i := n.first; i < n.first+n.count; i++ {
			v, off := r.entry(i)
			if _, ok := r.symbol(uint64(v)); !ok || int64(v) <= prev {
				return corruptf(r.file, base+int64(i*postingsEntry), "postings table value ref %d not a symbol or not sorted", v)
			}
			if off < r.postingsStart || off >= r.postingsEnd {
				return corruptf(r.file, base+int64(i*postingsEntry), "postings offset %d outside the postings section", off)
			}
			prev = int64(v)
		}
	}
	return nil
}

// duration decodes a chunk's maxt - mint: uvarint in version 1, a
// durationCode in version 2.
func (r *indexReader) duration(d *decoder) int64 {
	c := d.uvarint()
	if r.version == indexFormatV1 {
		return int64(c)
	}
	if c&1 == 1 {
		return int64(c >> 1)
	}
	z := c >> 1
	return r.durBase + (int64(z>>1) ^ -int64(z&1))
}

// symbolAt is symbol ref, which checkPostingsTable proved is one for every
// entry of the table.
func (r *indexReader) symbolAt(ref symbolRef) string {
	s, _ := r.symbol(uint64(ref))
	return s
}

func (r *indexReader) entry(i int) (symbolRef, int64) {
	e := r.ptab[i*postingsEntry:]
	return symbolRef(binary.LittleEndian.Uint32(e)), int64(binary.LittleEndian.Uint64(e[4:]))
}

func (r *indexReader) labelName(name string) (labelName, bool) {
	i, ok := slices.BinarySearchFunc(r.names, name, func(n labelName, s string) int { return strings.Compare(n.name, s) })
	if !ok {
		return labelName{}, false
	}
	return r.names[i], true
}

// postingsOffset finds the postings list of name=value by binary search.
func (r *indexReader) postingsOffset(name, value string) (int64, bool) {
	n, ok := r.labelName(name)
	if !ok {
		return 0, false
	}
	ref, ok := r.lookupSymbol(value)
	if !ok {
		return 0, false
	}
	i := sort.Search(n.count, func(i int) bool {
		v, _ := r.entry(n.first + i)
		return v >= ref
	})
	if i == n.count {
		return 0, false
	}
	v, off := r.entry(n.first + i)
	return off, v == ref
}

// forEachValue calls fn with every value of name (sorted) and the offset of
// its postings list, until fn returns false.
func (r *indexReader) forEachValue(name string, fn func(value string, off int64) bool) {
	n, ok := r.labelName(name)
	if !ok {
		return
	}
	for i := n.first; i < n.first+n.count; i++ {
		v, off := r.entry(i)
		s, _ := r.symbol(uint64(v))
		if !fn(s, off) {
			return
		}
	}
}

// postingsAt decodes the postings list at off, appending to dst.
func (r *indexReader) postingsAt(dst []SeriesRef, off int64) ([]SeriesRef, error) {
	if off < r.postingsStart || off >= r.postingsEnd {
		return dst, corruptf(r.file, off, "postings offset outside the postings section")
	}
	d := newDecoder(r.file, r.b[off:r.postingsEnd], off)
	if r.version != indexFormatV1 {
		return r.packedPostings(dst, &d)
	}
	n := d.count(1)
	dst = slices.Grow(dst, n)
	var ref SeriesRef
	for range n {
		delta := d.uvarint()
		if d.err != nil {
			break
		}
		next := ref + SeriesRef(delta)
		if next <= ref || int64(next) < r.seriesStart || int64(next) >= r.seriesEnd {
			d.fail("postings ref %d out of order or outside the series section", next)
			break
		}
		ref = next
		dst = append(dst, ref)
	}
	return dst, d.err
}

// packedPostings decodes a version 2 postings list (appendPostings).
func (r *indexReader) packedPostings(dst []SeriesRef, d *decoder) ([]SeriesRef, error) {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return dst, d.err
	}
	// Refs are distinct offsets of series entries, so a list is never
	// longer than the series section: a hostile count cannot make us
	// allocate more than the file's size.
	if n > uint64(r.seriesEnd-r.seriesStart) {
		d.fail("postings count %d exceeds the series section", n)
		return dst, d.err
	}
	first := d.uvarint()
	if d.err != nil {
		return dst, d.err
	}
	if first < uint64(r.seriesStart) || first >= uint64(r.seriesEnd) {
		d.fail("postings ref %d outside the series section", first)
		return dst, d.err
	}
	dst = slices.Grow(dst, int(n))
	dst = append(dst, SeriesRef(first))
	if n == 1 {
		return dst, nil
	}
	minD := d.uvarint()
	w := uint64(0)
	if b := d.bytes(1); b != nil {
		w = uint64(b[0])
	}
	if d.err == nil && (w > 64 || minD == 0) {
		d.fail("postings delta width %d, minimum %d", w, minD)
	}
	src := d.bytes(int((uint64(n-1)*w + 7) / 8))
	if d.err != nil {
		return dst, d.err
	}
	ref := first
	for i := range n - 1 {
		next := ref + minD + readBits(src, i*w, uint(w))
		if next <= ref || next >= uint64(r.seriesEnd) {
			d.fail("postings ref %d out of order or outside the series section", next)
			return dst, d.err
		}
		ref = next
		dst = append(dst, SeriesRef(ref))
	}
	return dst, nil
}

// readBits returns the w bits at bit offset bit of a little-endian bit
// string; src holds them.
func readBits(src []byte, bit uint64, w uint) uint64 {
	if w == 0 {
		return 0
	}
	i := bit / 8
	var buf [16]byte
	if i+16 <= uint64(len(src)) {
		copy(buf[:], src[i:i+16]) // compiles to two loads
	} else {
		copy(buf[:], src[i:])
	}
	s := uint(bit % 8)
	lo := binary.LittleEndian.Uint64(buf[:]) >> s
	if s > 0 {
		lo |= binary.LittleEndian.Uint64(buf[8:]) << (64 - s)
	}
	if w < 64 {
		lo &= 1<<w - 1
	}
	return lo
}

// allSeries returns every series ref.
func (r *indexReader) allSeries() ([]SeriesRef, error) {
	return r.postingsAt(nil, r.allPostings)
}

// series decodes the series at ref into the builder (which it resets) and
// returns its chunk metas appended to chks[:0].
func (r *indexReader) series(ref SeriesRef, lb *labels.ScratchBuilder, chks []chunkMeta) ([]chunkMeta, error) {
	chks = chks[:0]
	if int64(ref) < r.seriesStart || int64(ref) >= r.seriesEnd {
		return chks, corruptf(r.file, int64(ref), "series ref outside the series section")
	}
	d := newDecoder(r.file, r.b[ref:r.seriesEnd], int64(ref))
	lb.Reset()
	n := d.count(2)
	prevName := int64(-1)
	for range n {
		nr, vr := d.uvarint(), d.uvarint()
		if d.err != nil {
			return chks, d.err
		}
		var name, value string
		ok := int64(nr) > prevName
		if r.version == indexFormatV1 {
			var ok1, ok2 bool
			name, ok1 = r.symbol(nr)
			value, ok2 = r.symbol(vr)
			ok = ok && ok1 && ok2
		} else if ok = ok && nr < uint64(len(r.names)); ok {
			// Ordinals: the name's among the names, the value's among
			// its entries in the postings table.
			ln := r.names[nr]
			if ok = vr < uint64(ln.count); ok {
				v, _ := r.entry(ln.first + int(vr))
				name, value = ln.name, r.symbolAt(v)
			}
		}
		if !ok {
			d.fail("label refs %d=%d not symbols or not sorted", nr, vr)
			return chks, d.err
		}
		prevName = int64(nr)
		lb.Add(name, value)
	}
	nc := d.count(3)
	var prev chunkMeta
	for i := range nc {
		var c chunkMeta
		if i == 0 {
			if r.version == indexFormatV1 {
				c.mint = d.varint()
			} else {
				c.mint = r.timeBase + int64(d.uvarint())
			}
			c.maxt = c.mint + r.duration(&d)
			c.ref = ChunkRef(d.varint())
		} else {
			c.mint = prev.maxt + int64(d.uvarint())
			c.maxt = c.mint + r.duration(&d)
			c.ref = prev.ref + ChunkRef(d.varint())
		}
		if d.err != nil {
			return chks, d.err
		}
		if c.maxt < c.mint || (i > 0 && c.mint <= prev.maxt) {
			d.fail("chunk %d has bad times [%d, %d]", i, c.mint, c.maxt)
			return chks, d.err
		}
		chks = append(chks, c)
		prev = c
	}
	return chks, d.err
}
