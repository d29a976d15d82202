package wal

import "testing"

// TestZeroTail: the zero-tail check finds a stray byte anywhere in a
// preallocated tail, on both filesystems, whether or not pages are cached.
func TestZeroTail(t *testing.T) {
	for _, fk := range fsKinds {
		t.Run(fk.name, func(t *testing.T) {
			fs, dir := fk.new(t)
			if err := fs.MkdirAll(dir); err != nil {
				t.Fatal(err)
			}
			const size = 8 << 20
			for i, stray := range []int64{-1, 100, 4095, 4096, 3 << 20, size - 1} {
				f, err := fs.Create(joinPath(dir, SegmentName(SegmentNum(i+1))))
				if err != nil {
					t.Fatal(err)
				}
				if err := f.Preallocate(size); err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteAt([]byte("data"), 0); err != nil {
					t.Fatal(err)
				}
				if stray >= 0 {
					if _, err := f.WriteAt([]byte{7}, stray); err != nil {
						t.Fatal(err)
					}
				}
				for _, from := range []int64{4, 64 << 10} {
					ok, err := zeroFrom(f, size, from)
					if want := stray < from; ok != want || err != nil {
						t.Errorf("stray byte at %d, check from %d: zero=%v err=%v", stray, from, ok, err)
					}
				}
				f.Close()
			}
		})
	}
}
