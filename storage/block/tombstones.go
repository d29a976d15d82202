package block

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
)

const (
	tombstonesFilename = "tombstones"
	tombstonesMagic    = 0x4D545453 // "MTTS"
	tombstonesFormatV1 = 1
)

// Interval is a closed time range [Mint, Maxt] in ms.
type Interval struct{ Mint, Maxt int64 }

// Intervals are sorted, disjoint and not adjacent (Add merges neighbours).
type Intervals []Interval

// Add returns the intervals with n merged in; iv is not modified.
func (iv Intervals) Add(n Interval) Intervals {
	out := make(Intervals, 0, len(iv)+1)
	i := 0
	for ; i < len(iv) && !touches(iv[i].Maxt, n.Mint); i++ {
		out = append(out, iv[i])
	}
	for ; i < len(iv) && touches(n.Maxt, iv[i].Mint); i++ {
		n.Mint = min(n.Mint, iv[i].Mint)
		n.Maxt = max(n.Maxt, iv[i].Maxt)
	}
	out = append(out, n)
	return append(out, iv[i:]...)
}

// touches reports whether an interval ending at maxt and one starting at
// mint (not before the first's start) overlap or are adjacent, without
// overflowing at the ends of int64.
func touches(maxt, mint int64) bool {
	return mint <= maxt || uint64(mint)-uint64(maxt) == 1
}

// overlaps reports whether any interval intersects [mint, maxt].
func (iv Intervals) overlaps(mint, maxt int64) bool {
	for _, i := range iv {
		if i.Mint <= maxt && mint <= i.Maxt {
			return true
		}
	}
	return false
}

// covers reports whether one interval holds all of [mint, maxt].
func (iv Intervals) covers(mint, maxt int64) bool {
	for _, i := range iv {
		if i.Mint <= mint && maxt <= i.Maxt {
			return true
		}
	}
	return false
}

// trimmed returns iv with everything outside [mint, maxt] deleted too.
func (iv Intervals) trimmed(mint, maxt int64) Intervals {
	if mint > math.MinInt64 {
		iv = iv.Add(Interval{math.MinInt64, mint - 1})
	}
	if maxt < math.MaxInt64 {
		iv = iv.Add(Interval{maxt + 1, math.MaxInt64})
	}
	return iv
}

// tombstones maps a series to its deleted intervals. A published map is
// never modified: Delete builds a new one.
type tombstones map[SeriesRef]Intervals

func (t tombstones) total() uint64 {
	var n uint64
	for _, iv := range t {
		n += uint64(len(iv))
	}
	return n
}

// encodeTombstones: magic u32 BE | version u8 | uvarint(nSeries)
// { uvarint(refΔ) uvarint(nIntervals) { varint(mint) uvarint(maxt-mint) }* }*
// | CRC-32C u32 LE of everything before.
func encodeTombstones(t tombstones) []byte {
	b := binary.BigEndian.AppendUint32(nil, tombstonesMagic)
	b = append(b, tombstonesFormatV1)
	refs := slices.Sorted(maps.Keys(t))
	b = binary.AppendUvarint(b, uint64(len(refs)))
	var prev SeriesRef
	for _, ref := range refs {
		b = binary.AppendUvarint(b, uint64(ref-prev))
		prev = ref
		b = binary.AppendUvarint(b, uint64(len(t[ref])))
		for _, iv := range t[ref] {
			b = binary.AppendVarint(b, iv.Mint)
			b = binary.AppendUvarint(b, uint64(iv.Maxt-iv.Mint))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32c(b))
}

func decodeTombstones(file string, b []byte) (tombstones, error) {
	if len(b) < 5+1+4 {
		return nil, corruptf(file, 0, "tombstones of %d bytes is too short", len(b))
	}
	if binary.BigEndian.Uint32(b) != tombstonesMagic || b[4] != tombstonesFormatV1 {
		return nil, corruptf(file, 0, "bad tombstones header %x", b[:5])
	}
	body := b[:len(b)-4]
	if got, want := crc32c(body), binary.LittleEndian.Uint32(b[len(b)-4:]); got != want {
		return nil, corruptf(file, int64(len(body)), "checksum mismatch: computed %08x, stored %08x", got, want)
	}
	d := newDecoder(file, body[5:], 5)
	n := d.count(2)
	t := make(tombstones, n)
	var ref SeriesRef
	for i := range n {
		delta := d.uvarint()
		if d.err == nil && i > 0 && delta == 0 {
			d.fail("series refs not sorted")
		}
		ref += SeriesRef(delta)
		k := d.count(2)
		iv := make(Intervals, 0, k)
		for range k {
			mint := d.varint()
			span := d.uvarint()
			maxt := mint + int64(span)
			if d.err == nil && (span > math.MaxInt64 || maxt < mint || (len(iv) > 0 && touches(iv[len(iv)-1].Maxt, mint))) {
				d.fail("intervals not sorted and disjoint")
			}
			iv = append(iv, Interval{mint, maxt})
		}
		if d.err != nil {
			return nil, d.err
		}
		t[ref] = iv
	}
	d.end()
	if d.err != nil {
		return nil, d.err
	}
	return t, nil
}

// readTombstones reads dir/tombstones; a missing file means none.
func readTombstones(dir string) (tombstones, error) {
	file := filepath.Join(dir, tombstonesFilename)
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return tombstones{}, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeTombstones(file, b)
}
