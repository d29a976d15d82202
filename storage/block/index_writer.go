package block

import (
	"bufio"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"math"
	"math/bits"
	"os"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// SeriesRef identifies a series of a block: the byte offset of its entry in
// the index file. Series entries are written sorted by labels, so sorting
// refs sorts series.
type SeriesRef uint64

// symbolRef is the position of a string in the index's sorted symbol table,
// so comparing refs compares strings.
type symbolRef uint32

const (
	indexFilename = "index"
	indexMagic    = 0x4D544958 // "MTIX"
	indexFormatV1 = 1          // first chunks' mint as absolute varints
	indexFormatV2 = 2          // the series section opens with a time base; first mints are offsets from it
	indexHeader   = 5          // magic u32 big endian, version u8
	tocEntries    = 7
	tocSize       = tocEntries*8 + 4
	postingsEntry = 12 // postings table entry: valueRef u32, offset u64
)

// chunkMeta is what the index holds of a chunk: its first and last sample's
// timestamps and where it is.
type chunkMeta struct {
	mint, maxt int64
	ref        ChunkRef
}

// indexSeries is a series as Write collects it for the index.
type indexSeries struct {
	lset   labels.Labels
	chunks []chunkMeta
}

// sectionWriter writes the index file, tracking the offset and the CRC of
// the current section.
type sectionWriter struct {
	bw  *bufio.Writer
	pos int64
	crc hash.Hash32
	err error
	buf []byte
}

func (w *sectionWriter) write(b []byte) {
	if w.err != nil {
		return
	}
	w.crc.Write(b)
	_, w.err = w.bw.Write(b)
	w.pos += int64(len(b))
}

// begin starts a section and returns its offset.
func (w *sectionWriter) begin() int64 {
	w.crc.Reset()
	return w.pos
}

// end closes a section with the CRC-32C of its bytes.
func (w *sectionWriter) end() {
	if w.err != nil {
		return
	}
	w.buf = binary.LittleEndian.AppendUint32(w.buf[:0], w.crc.Sum32())
	_, w.err = w.bw.Write(w.buf)
	w.pos += 4
}

// writeIndex writes the index of series (sorted by labels, unique) and of
// the chunk segments' sizes to path and fsyncs it.
func writeIndex(path string, series []indexSeries, segSizes []int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	w := &sectionWriter{bw: bufio.NewWriterSize(f, 1<<20), crc: crc32.New(castagnoli)}

	// Symbols.
	symSet := map[string]struct{}{}
	for _, s := range series {
		s.lset.Range(func(l labels.Label) {
			symSet[l.Name] = struct{}{}
			symSet[l.Value] = struct{}{}
		})
	}
	symbols := make([]string, 0, len(symSet))
	for s := range symSet {
		symbols = append(symbols, s)
	}
	slices.Sort(symbols)
	refs := make(map[string]symbolRef, len(symbols))
	for i, s := range symbols {
		refs[s] = symbolRef(i)
	}

	var hdr [indexHeader]byte
	binary.BigEndian.PutUint32(hdr[:], indexMagic)
	hdr[4] = indexFormatV2
	w.bw.Write(hdr[:])
	w.pos = indexHeader

	var toc [tocEntries]int64
	toc[0] = w.begin()
	b := binary.AppendUvarint(nil, uint64(len(symbols)))
	w.write(b)
	for _, s := range symbols {
		b = binary.AppendUvarint(b[:0], uint64(len(s)))
		b = append(b, s...)
		w.write(b)
	}
	w.end()

	// Every (name, value) pair, sorted: the postings table's entries. A
	// series names its labels by their ordinals here (the name's position
	// among the names, the value's among the name's entries), which stay
	// small where symbol refs grow with the symbol table.
	type nameValue struct{ name, value symbolRef }
	postings := map[nameValue][]SeriesRef{}
	for _, s := range series {
		s.lset.Range(func(l labels.Label) {
			postings[nameValue{refs[l.Name], refs[l.Value]}] = nil
		})
	}
	keys := make([]nameValue, 0, len(postings))
	for k := range postings {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b nameValue) int {
		if a.name != b.name {
			return int(a.name) - int(b.name)
		}
		return int(a.value) - int(b.value)
	})
	type ordinals struct{ name, value uint64 }
	ords := make(map[nameValue]ordinals, len(keys))
	var nameOrd, valueOrd uint64
	for i, k := range keys {
		if i > 0 && k.name != keys[i-1].name {
			nameOrd, valueOrd = nameOrd+1, 0
		}
		ords[k] = ordinals{nameOrd, valueOrd}
		valueOrd++
	}

	// The time bases: the earliest first chunk, so that every series'
	// first mint is a small offset (a varint of today's milliseconds is 6
	// bytes a series), and a typical chunk duration (the median of a
	// sample), so that the regular chunks of a scrape take a byte for it.
	base, dur := timeBases(series)
	toc[1] = w.begin()
	b = binary.AppendVarint(b[:0], base)
	b = binary.AppendVarint(b, dur)
	w.write(b)
	all := make([]SeriesRef, 0, len(series))
	for _, s := range series {
		ref := SeriesRef(w.pos)
		all = append(all, ref)
		b = binary.AppendUvarint(b[:0], uint64(s.lset.Len()))
		s.lset.Range(func(l labels.Label) {
			nv := nameValue{refs[l.Name], refs[l.Value]}
			postings[nv] = append(postings[nv], ref)
			o := ords[nv]
			b = binary.AppendUvarint(b, o.name)
			b = binary.AppendUvarint(b, o.value)
		})
		b = appendChunkMetas(b, s.chunks, base, dur)
		w.write(b)
	}
	w.end()

	// Postings lists: all series first, then by (name, value).
	offsets := make([]int64, len(keys))
	toc[2] = w.begin()
	toc[6] = w.pos
	w.write(appendPostings(b[:0], all))
	for i, k := range keys {
		offsets[i] = w.pos
		b = appendPostings(b[:0], postings[k])
		w.write(b)
	}
	w.end()

	// Postings offset table, sorted by (name, value).
	toc[3] = w.begin()
	for i, k := range keys {
		b = binary.LittleEndian.AppendUint32(b[:0], uint32(k.value))
		b = binary.LittleEndian.AppendUint64(b, uint64(offsets[i]))
		w.write(b)
	}
	w.end()

	// Label names: each with its number of entries in the table.
	toc[4] = w.begin()
	var names []nameValue // name, count
	for _, k := range keys {
		if len(names) == 0 || names[len(names)-1].name != k.name {
			names = append(names, nameValue{k.name, 0})
		}
		names[len(names)-1].value++
	}
	b = binary.AppendUvarint(b[:0], uint64(len(names)))
	for _, n := range names {
		b = binary.AppendUvarint(b, uint64(n.name))
		b = binary.AppendUvarint(b, uint64(n.value))
	}
	w.write(b)
	w.end()

	// Chunk segment sizes.
	toc[5] = w.begin()
	b = binary.AppendUvarint(b[:0], uint64(len(segSizes)))
	for _, s := range segSizes {
		b = binary.AppendUvarint(b, uint64(s))
	}
	w.write(b)
	w.end()

	w.begin()
	b = b[:0]
	for _, off := range toc {
		b = binary.LittleEndian.AppendUint64(b, uint64(off))
	}
	w.write(b)
	w.end()

	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// timeBases returns the earliest first-chunk mint of series (0 without
// chunks) and the median duration (maxt - mint) of the first chunks of at
// most 4096 series spread over them.
func timeBases(series []indexSeries) (base, dur int64) {
	base = math.MaxInt64
	stride := max(1, len(series)/4096)
	var durs []int64
	for i, s := range series {
		if len(s.chunks) == 0 {
			continue
		}
		base = min(base, s.chunks[0].mint)
		if i%stride == 0 {
			durs = append(durs, s.chunks[0].maxt-s.chunks[0].mint)
		}
	}
	if len(durs) == 0 {
		return 0, 0
	}
	slices.Sort(durs)
	return base, durs[len(durs)/2]
}

// appendChunkMetas encodes a series' chunk metas: the first as
// uvarint(mint-base) duration varint(ref), the others as
// uvarint(mint-prevMaxt) duration varint(ref-prevRef).
func appendChunkMetas(b []byte, chks []chunkMeta, base, dur int64) []byte {
	b = binary.AppendUvarint(b, uint64(len(chks)))
	for i, c := range chks {
		if i == 0 {
			b = binary.AppendUvarint(b, uint64(c.mint-base))
			b = binary.AppendUvarint(b, durationCode(c.maxt-c.mint, dur))
			b = binary.AppendVarint(b, int64(c.ref))
			continue
		}
		p := chks[i-1]
		b = binary.AppendUvarint(b, uint64(c.mint-p.maxt))
		b = binary.AppendUvarint(b, durationCode(c.maxt-c.mint, dur))
		b = binary.AppendVarint(b, int64(c.ref-p.ref))
	}
	return b
}

// durationCode encodes a chunk's maxt - mint d as the smaller of
// zigzag(d - dur)<<1 (near the typical duration) and d<<1 | 1 (short
// chunks: a one-sample chunk's 0 takes a byte either way).
func durationCode(d, dur int64) uint64 {
	near := uint64((d-dur)<<1^((d-dur)>>63)) << 1
	if far := uint64(d)<<1 | 1; far < near {
		return far
	}
	return near
}

// appendPostings encodes sorted refs as uvarint(n), then for n >= 1
// uvarint(first ref), then for n >= 2 the deltas frame-of-reference
// bit-packed: uvarint(min delta) u8(w) and each delta minus the minimum in
// w bits (a list of neighbouring series, whose deltas are entry sizes,
// takes a few bits a ref where uvarint deltas took one or two bytes).
func appendPostings(b []byte, refs []SeriesRef) []byte {
	b = binary.AppendUvarint(b, uint64(len(refs)))
	if len(refs) == 0 {
		return b
	}
	b = binary.AppendUvarint(b, uint64(refs[0]))
	if len(refs) == 1 {
		return b
	}
	minD, maxD := uint64(math.MaxUint64), uint64(0)
	for i := 1; i < len(refs); i++ {
		d := uint64(refs[i] - refs[i-1])
		minD, maxD = min(minD, d), max(maxD, d)
	}
	w := uint(bits.Len64(maxD - minD))
	b = binary.AppendUvarint(b, minD)
	b = append(b, byte(w))
	var acc uint64
	var held uint
	for i := 1; i < len(refs); i++ {
		v := uint64(refs[i]-refs[i-1]) - minD
		acc |= v << held
		if held+w >= 64 {
			b = binary.LittleEndian.AppendUint64(b, acc)
			acc = v >> (64 - held) // a shift by 64 is 0
			held = held + w - 64
		} else {
			held += w
		}
	}
	for held > 0 {
		b = append(b, byte(acc))
		acc >>= 8
		held -= min(8, held)
	}
	return b
}
