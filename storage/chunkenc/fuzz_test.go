package chunkenc

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// samplesFromFuzz turns fuzz bytes into samples that reach every layout:
// each sample takes an op byte choosing how its timestamp and value are made
// (raw 64 bits, a scrape step with jitter, a short decimal, a counter step,
// a repeat).
func samplesFromFuzz(data []byte) ([]int64, []float64) {
	var ts []int64
	var vs []float64
	t, v := int64(0), 0.0
	next := func(k int) uint64 {
		var buf [8]byte
		k = copy(buf[:k], data)
		data = data[k:]
		return binary.LittleEndian.Uint64(buf[:])
	}
	for len(data) > 0 && len(ts) < 1<<12 { // bigger inputs only slow the fuzzer down
		o := byte(next(1))
		switch o & 3 {
		case 0:
			t = int64(next(8))
		case 1:
			t += 15000 + int64(int8(next(1)))
		case 2:
			t += 15000
		case 3:
			t += int64(int16(next(2)))
		}
		switch (o >> 2) & 7 {
		case 0:
			v = math.Float64frombits(next(8))
		case 1:
			v = float64(int16(next(2))) / pow10[(o>>5)%5]
		case 2:
			v += float64(next(2))
		case 3: // repeat
		case 4:
			v = math.Float64frombits(staleNaN)
		case 5:
			v = float64(int64(next(8))) / pow10[(o>>5)%5]
		case 6:
			v = math.Float64frombits(v2bits(next(1)))
		case 7:
			v = -v
		}
		ts = append(ts, t)
		vs = append(vs, v)
	}
	return ts, vs
}

// v2bits picks one of the floats that most often break codecs.
func v2bits(k uint64) uint64 {
	special := []uint64{
		staleNaN, 0x7ff8000000000001, 0xfff8000000000000, 0x7ff0000000000000, 0xfff0000000000000,
		0x8000000000000000, 0, 1, 0x000fffffffffffff, 0x7fefffffffffffff, 0x3fb999999999999a,
	}
	return special[k%uint64(len(special))]
}

func checkSamples(t *testing.T, what string, it upstream.Iterator, ts []int64, vs []float64) {
	t.Helper()
	i := 0
	for it.Next() == upstream.ValFloat {
		gt, gv := it.At()
		if i >= len(ts) {
			t.Fatalf("%s: more than %d samples", what, len(ts))
		}
		if gt != ts[i] || math.Float64bits(gv) != math.Float64bits(vs[i]) {
			t.Fatalf("%s: sample %d is (%d, %016x), want (%d, %016x)", what, i, gt, math.Float64bits(gv), ts[i], math.Float64bits(vs[i]))
		}
		i++
	}
	if err := it.Err(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if i != len(ts) {
		t.Fatalf("%s: %d samples, want %d", what, i, len(ts))
	}
}

func FuzzRoundTrip(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range dataKinds {
		ts, vs := k.gen(r, 40)
		var seed []byte
		for i := range ts {
			seed = append(seed, 0) // raw timestamp, raw value
			seed = binary.LittleEndian.AppendUint64(seed, uint64(ts[i]))
			seed = binary.LittleEndian.AppendUint64(seed, math.Float64bits(vs[i]))
		}
		f.Add(seed)
	}
	f.Add([]byte{1 | 1<<2, 7, 0x10, 0x27, 2 | 2<<2, 5, 0, 2 | 3<<2, 2 | 4<<2, 3 | 6<<2, 0xff, 0x7f, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, vs := samplesFromFuzz(data)
		c := NewFloatChunk()
		app, err := c.Appender()
		if err != nil {
			t.Fatal(err)
		}
		for i := range ts {
			app.Append(0, ts[i], vs[i])
		}
		checkSamples(t, "open", c.Iterator(nil), ts, vs)
		b := c.Bytes()
		again := appendChunk(nil, ts, vs)
		if !bytes.Equal(b, again) {
			t.Fatal("encoding is not deterministic")
		}
		prefixed, err := AppendEncoded([]byte{0xaa}, ts, vs)
		if err != nil || prefixed[0] != 0xaa || !bytes.Equal(prefixed[1:], b) {
			t.Fatalf("AppendEncoded onto a prefix differs from Bytes (%v)", err)
		}
		checkSamples(t, "sealed chunk", NewSealedChunk(prefixed[1:]).Iterator(nil), ts, vs)
		if len(ts) > 0 {
			elided, t0, err := ElideFirstTimestamp([]byte{0xbb}, b)
			if err != nil || elided[0] != 0xbb || t0 != ts[0] {
				t.Fatalf("ElideFirstTimestamp: t0 %d, want %d (%v)", t0, ts[0], err)
			}
			at := NewSealedChunkAt(elided[1:], t0)
			checkSamples(t, "elided", at.Iterator(nil), ts, vs)
			if !bytes.Equal(at.Bytes(), b) || at.NumSamples() != len(ts) {
				t.Fatal("a chunk without its first timestamp gives other bytes back")
			}
		}
		d, err := FromData(EncFloat, b)
		if err != nil {
			t.Fatal(err)
		}
		checkSamples(t, "decoded", d.Iterator(nil), ts, vs)
		x, err := ToXOR(d)
		if err != nil {
			t.Fatal(err)
		}
		checkSamples(t, "to XOR", x.Iterator(nil), ts, vs)
	})
}

func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range dataKinds {
		for _, n := range []int{1, 2, 3, 30} {
			ts, vs := k.gen(r, n)
			f.Add(appendChunk(nil, ts, vs))
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{0, 0})
	f.Add([]byte{0xff, 0xff, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		// The same bytes as a chunk without its first timestamp: samples
		// or an error, never a panic.
		eit := NewSealedChunkAt(data, 1_700_000_000_000).Iterator(nil)
		for eit.Next() == upstream.ValFloat {
		}
		c, err := FromData(EncFloat, data)
		if err != nil {
			return
		}
		n := c.NumSamples()
		it := c.Iterator(nil)
		var ts []int64
		var vs []float64
		for it.Next() == upstream.ValFloat {
			tt, v := it.At()
			ts, vs = append(ts, tt), append(vs, v)
		}
		if it.Err() != nil {
			if len(ts) != 0 {
				t.Fatalf("%d samples before the error %v", len(ts), it.Err())
			}
			return
		}
		if len(ts) != n {
			t.Fatalf("%d samples, header says %d", len(ts), n)
		}
		// Whatever decodes must survive a round trip.
		checkSamples(t, "re-encoded", newSealedMust(t, appendChunk(nil, ts, vs)).Iterator(nil), ts, vs)
		it = c.Iterator(it)
		if n > 0 && it.Seek(ts[n-1]) != upstream.ValFloat {
			t.Fatal("Seek to the last timestamp found nothing")
		}
		if _, err := c.Appender(); err != nil {
			t.Fatalf("Appender on a decodable chunk: %v", err)
		}
	})
}

func newSealedMust(t *testing.T, b []byte) *FloatChunk {
	c, err := newSealed(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
