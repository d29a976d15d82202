package wal

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// segImage is a segment file's bytes and its frames by the reference parser.
type segImage struct {
	num    SegmentNum
	data   []byte
	frames []refFrame
	stop   int64 // offset of the end frame
}

func readImages(t *testing.T, fs FS, dir string) []segImage {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var imgs []segImage
	for _, name := range names {
		n, ok := parseSegmentName(name)
		if !ok {
			continue
		}
		data := readFile(t, fs, joinPath(dir, name))
		frames, closed, stop, bad := refParse(data)
		if !closed || bad {
			t.Fatalf("%s is not a clean closed segment", name)
		}
		imgs = append(imgs, segImage{num: n, data: data, frames: frames, stop: stop})
	}
	return imgs
}

func readFile(t *testing.T, fs FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, _ := f.Size()
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil && size > 0 {
		t.Fatal(err)
	}
	return data
}

// damage is one random change to one segment and what replay must make of it.
type damage struct {
	desc      string
	seg       SegmentNum
	apply     func(f File) error
	want      [][]byte // the records replay must return
	corrupted bool
	at        int64
}

// planDamage picks a random flip or truncation and derives the expected
// replay from the reference parse of the intact files.
func planDamage(r *rand.Rand, imgs []segImage) damage {
	j := r.IntN(len(imgs))
	img := imgs[j]
	last := j == len(imgs)-1
	var before [][]byte
	for _, im := range imgs[:j] {
		for _, f := range im.frames {
			before = append(before, f.payload)
		}
	}
	all := func() [][]byte {
		out := before
		for _, im := range imgs[j:] {
			for _, f := range im.frames {
				out = append(out, f.payload)
			}
		}
		return out
	}
	// firstFrameAt returns the start of the frame holding offset o (the end
	// frame's start if o is in it) and the records before it.
	firstFrameAt := func(o int64) (int64, [][]byte) {
		recs := before
		for _, f := range img.frames {
			if o < f.off+frameHeaderSize+int64(len(f.payload)) {
				return f.off, recs
			}
			recs = append(recs, f.payload)
		}
		return img.stop, recs
	}
	dataEnd := img.stop + frameHeaderSize
	if r.IntN(2) == 0 {
		// Flip one byte, usually inside the frames.
		o := r.Int64N(dataEnd)
		if r.IntN(8) == 0 {
			o = r.Int64N(int64(len(img.data)))
		}
		x := byte(1 + r.IntN(255))
		d := damage{desc: fmt.Sprintf("flip byte %d of segment %d by %#x", o, img.num, x), seg: img.num,
			apply: func(f File) error {
				b := []byte{img.data[o] ^ x}
				_, err := f.WriteAt(b, o)
				return err
			}}
		if o >= dataEnd {
			d.want = all()
			return d
		}
		d.at, d.want = firstFrameAt(o)
		d.corrupted = true
		return d
	}
	z := r.Int64N(dataEnd)
	d := damage{desc: fmt.Sprintf("truncate segment %d to %d", img.num, z), seg: img.num,
		apply: func(f File) error { return f.Truncate(z) }}
	d.at, d.want = firstFrameAt(z)
	// Damage is visible unless this is the last segment and what is left of
	// the cut frame reads as the zero tail of an unfinished segment.
	d.corrupted = !last || !isZero(img.data[d.at:z])
	return d
}

func TestCorruptionRandom(t *testing.T) {
	base := NewMemFS()
	o := Options{Dir: "/w", FS: base, SegmentSize: 4096}
	w, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		if err := w.Log(testRecord(i, 10+(i*53)%700)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	imgs := readImages(t, base, "/w")
	if len(imgs) < 8 {
		t.Fatalf("only %d segments", len(imgs))
	}
	r := rand.New(rand.NewPCG(11, 12))
	for iter := range 300 {
		d := planDamage(r, imgs)
		fs := base.CrashClone()
		f, err := fs.OpenRW(joinPath("/w", SegmentName(d.seg)))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.apply(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		o := Options{Dir: "/w", FS: fs, SegmentSize: 4096}
		checkDamagedReplay(t, iter, o, d)
	}
}

// TestCorruptionOS runs a few damages on real files.
func TestCorruptionOS(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for iter := range 6 {
		dir := t.TempDir()
		o := Options{Dir: dir, SegmentSize: 4096}
		w, err := Open(o)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			if err := w.Log(testRecord(i, 10+(i*53)%700)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		d := planDamage(r, readImages(t, OSFS{}, dir))
		f, err := OSFS{}.OpenRW(joinPath(dir, SegmentName(d.seg)))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.apply(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		checkDamagedReplay(t, iter, o, d)
	}
}

func checkDamagedReplay(t *testing.T, iter int, o Options, d damage) {
	t.Helper()
	w, err := Open(o)
	if err != nil {
		t.Fatalf("iter %d (%s): Open failed: %v", iter, d.desc, err)
	}
	got, st := replayAll(t, w)
	if err := sameRecords(got, d.want); err != nil {
		t.Fatalf("iter %d (%s): %v", iter, d.desc, err)
	}
	if st.Corrupted != d.corrupted || (d.corrupted && (st.CorruptSegment != d.seg || st.CorruptOffset != d.at)) {
		t.Fatalf("iter %d (%s): stats %+v, want corrupted=%v at %d/%d", iter, d.desc, st, d.corrupted, d.seg, d.at)
	}
	if d.corrupted && testutilCounter(w) != 1 {
		t.Fatalf("iter %d (%s): corruptions counter %v", iter, d.desc, testutilCounter(w))
	}
	// The repair holds: a new record lands after the kept ones and a second
	// replay sees no damage.
	if err := w.Log([]byte("after-repair")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = Open(o)
	if err != nil {
		t.Fatal(err)
	}
	got, st = replayAll(t, w)
	want := append(append([][]byte(nil), d.want...), []byte("after-repair"))
	if err := sameRecords(got, want); err != nil || st.Corrupted {
		t.Fatalf("iter %d (%s): after repair: %v %+v", iter, d.desc, err, st)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func testutilCounter(w *WAL) float64 {
	return counterValue(w.metrics.corruptions)
}

func TestCheckpointCorruptionIsAnError(t *testing.T) {
	fs := NewMemFS()
	o := Options{Dir: "/w", FS: fs}
	w := openWAL(t, o)
	if err := w.Checkpoint(func(emit func([]byte) error) error { return emit([]byte("state")) }); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := fs.OpenRW("/w/" + CheckpointName(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{'X'}, 10); err != nil {
		t.Fatal(err)
	}
	w = openWAL(t, o)
	_, err = w.Replay(func([]byte) error { return nil })
	var cerr *CorruptionError
	if !errors.Is(err, ErrCorruption) || !errors.As(err, &cerr) || !cerr.Checkpoint || cerr.Offset != 0 {
		t.Fatalf("Replay = %v, want a CorruptionError in the checkpoint", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("checkpoint.00000000")) {
		t.Fatalf("error does not name the checkpoint: %v", err)
	}
}

// TestRepairAfterLogLeavesGap: when Log runs before Replay, a repair removes
// only the old segments after the damage, leaving a gap before this process's
// segments; the next replay reads across it.
func TestRepairAfterLogLeavesGap(t *testing.T) {
	fs := NewMemFS()
	o := Options{Dir: "/w", FS: fs, SegmentSize: MinSegmentSize}
	w := openWAL(t, o)
	var all [][]byte
	for i := range 30 {
		r := testRecord(i, 900)
		all = append(all, r)
		mustLog(t, w, r)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	imgs := readImages(t, fs, "/w")
	if len(imgs) < 4 {
		t.Fatalf("%d segments", len(imgs))
	}
	// Damage the second record of segment 2.
	bad := imgs[1]
	f, err := fs.OpenRW("/w/" + SegmentName(bad.num))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{^bad.data[bad.frames[1].off+20]}, bad.frames[1].off+20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	kept := len(imgs[0].frames) + 1

	w = openWAL(t, o)
	mustLog(t, w, []byte("new"))
	got, st := replayAll(t, w)
	if err := sameRecords(got, all[:kept]); err != nil || !st.Corrupted || st.CorruptSegment != bad.num {
		t.Fatalf("first replay: %v %+v", err, st)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	names, _ := fs.List("/w")
	want := []string{SegmentName(1), SegmentName(2), SegmentName(imgs[len(imgs)-1].num + 1)}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("directory %v, want %v", names, want)
	}
	w = openWAL(t, o)
	got, st = replayAll(t, w)
	if err := sameRecords(got, append(all[:kept:kept], []byte("new"))); err != nil || st.Corrupted {
		t.Fatalf("replay across the gap: %v %+v", err, st)
	}
}
