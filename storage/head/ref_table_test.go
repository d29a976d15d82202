package head

import (
	"math/rand/v2"
	"testing"

	"mytsdb/storage/wal"
)

// TestRefTableAgainstMap drives the ref table and a plain map with the same
// random sets and deletes (dense refs, page boundaries, refs beyond the
// array) and compares get and forEach after each step.
func TestRefTableAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	tbl := newRefTable()
	want := map[wal.SeriesRef]*memSeries{}
	refs := []wal.SeriesRef{1, 2, refPageSize - 1, refPageSize, refPageSize + 1, 5 * refPageSize, maxTableRef - 1, maxTableRef, maxTableRef + 12345, 1 << 62}
	for range 3000 {
		refs = append(refs, wal.SeriesRef(1+r.IntN(3*refPageSize)))
	}
	for step := range 20000 {
		ref := refs[r.IntN(len(refs))]
		switch r.IntN(3) {
		case 0, 1:
			s := &memSeries{ref: ref}
			tbl.set(s)
			want[ref] = s
		default:
			if s := want[ref]; s != nil {
				if r.IntN(4) == 0 { // Deleting another series under the same ref is a no-op.
					tbl.delete(&memSeries{ref: ref})
				} else {
					tbl.delete(s)
					delete(want, ref)
				}
			}
		}
		if got := tbl.get(ref); got != want[ref] {
			t.Fatalf("step %d: get(%d) = %p, want %p", step, ref, got, want[ref])
		}
	}
	for _, ref := range refs {
		if got := tbl.get(ref); got != want[ref] {
			t.Fatalf("get(%d) = %p, want %p", ref, got, want[ref])
		}
	}
	seen := map[wal.SeriesRef]bool{}
	var prev wal.SeriesRef
	tbl.forEach(func(s *memSeries) {
		if seen[s.ref] || want[s.ref] != s {
			t.Fatalf("forEach: unexpected or repeated series %d", s.ref)
		}
		if s.ref < maxTableRef {
			if s.ref < prev {
				t.Fatalf("forEach: %d after %d", s.ref, prev)
			}
			prev = s.ref
		}
		seen[s.ref] = true
	})
	if len(seen) != len(want) {
		t.Fatalf("forEach saw %d series, want %d", len(seen), len(want))
	}
	// Emptied pages are freed.
	for ref := range want {
		tbl.delete(want[ref])
	}
	dir := *tbl.dir.Load()
	for i := range dir {
		if dir[i].Load() != nil {
			t.Fatalf("page %d not freed", i)
		}
	}
}
