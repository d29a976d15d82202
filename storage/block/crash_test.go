package block

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/storage"
)

func TestDirNames(t *testing.T) {
	u := ulid.Make()
	for _, tc := range []struct {
		name       string
		tmp, block bool
	}{
		{u.String(), false, true},
		{u.String() + ".tmp-for-creation", true, false},
		{u.String() + ".tmp-for-deletion", true, false}, // Remove leaves it only if it crashed
		{"wal", false, false},
		{"chunks_head", false, false},
		{"01ARZ3NDEKTSV4RRFFQ69G5FA", false, false},  // 25 characters
		{"81ARZ3NDEKTSV4RRFFQ69G5FAV", false, false}, // overflows
		{".tmp-for-creation", false, false},
	} {
		if got := IsTmpDir(tc.name); got != tc.tmp {
			t.Errorf("IsTmpDir(%q) = %v", tc.name, got)
		}
		if got, ok := ParseDirName(tc.name); ok != tc.block || (ok && got != u) {
			t.Errorf("ParseDirName(%q) = %v, %v", tc.name, got, ok)
		}
	}
}

// cancelingSet cancels ctx once it has yielded n series.
type cancelingSet struct {
	storage.ChunkSeriesSet
	n      int
	cancel context.CancelFunc
}

func (c *cancelingSet) Next() bool {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return c.ChunkSeriesSet.Next()
}

// TestWriteCanceled: a Write canceled midway, or one failing on bad input,
// leaves nothing in the parent directory.
func TestWriteCanceled(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	m := genModel(r, 300, 2000)
	for _, after := range []int{1, 150, 299, 300, 301} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		_, err := Write(ctx, dir, &cancelingSet{ChunkSeriesSet: m.set(), n: after, cancel: cancel}, WriteOptions{MinTime: 0, MaxTime: 2000})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel after %d: %v", after, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("cancel after %d left %v", after, entries)
		}
	}
	// Unsorted input is refused, and leaves nothing.
	dir := t.TempDir()
	set := m.set().(*listChunkSet)
	set.series[3], set.series[4] = set.series[4], set.series[3]
	if _, err := Write(context.Background(), dir, set, WriteOptions{MinTime: 0, MaxTime: 2000}); err == nil {
		t.Fatal("unsorted series accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("failed write left %v", entries)
	}
	// No sample in range: ErrEmpty, nothing written.
	if _, err := Write(context.Background(), dir, m.set(), WriteOptions{MinTime: 5000, MaxTime: 6000}); !errors.Is(err, ErrEmpty) {
		t.Fatalf("out of range write: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("empty write left %v", entries)
	}
}

// TestTmpDirNotABlock: a complete block left under its tmp name (a crash
// before the rename) is neither parsed as a block name nor opened.
func TestTmpDirNotABlock(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	dir := t.TempDir()
	meta, err := Write(context.Background(), dir, genModel(r, 5, 1000).set(), WriteOptions{MinTime: 0, MaxTime: 1000})
	if err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(dir, meta.ULID.String())
	tmp := final + ".tmp-for-creation"
	if err := os.Rename(final, tmp); err != nil {
		t.Fatal(err)
	}
	if _, ok := ParseDirName(filepath.Base(tmp)); ok || !IsTmpDir(filepath.Base(tmp)) {
		t.Fatal("tmp dir looks like a block")
	}
	if b, err := Open(tmp, nil); err == nil {
		b.Close()
		t.Fatal("Open of a tmp dir succeeded")
	}
	// Writing the same ULID again replaces the leftover.
	meta2, err := Write(context.Background(), dir, genModel(r, 5, 1000).set(), WriteOptions{MinTime: 0, MaxTime: 1000, ULID: meta.ULID})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != meta2.ULID.String() {
		t.Fatalf("dir holds %v", entries)
	}
	// But an existing block is never overwritten.
	if _, err := Write(context.Background(), dir, genModel(r, 5, 1000).set(), WriteOptions{MinTime: 0, MaxTime: 1000, ULID: meta.ULID}); err == nil {
		t.Fatal("Write over an existing block succeeded")
	}
}

// TestCloseWaitsForQueriers: Close blocks until the last querier closes;
// then queriers fail and a second Close returns at once.
func TestCloseWaitsForQueriers(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	dir := t.TempDir()
	meta, err := Write(context.Background(), dir, genModel(r, 5, 1000).set(), WriteOptions{MinTime: 0, MaxTime: 1000})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(filepath.Join(dir, meta.ULID.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := b.Querier(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error)
	go func() { closed <- b.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a querier was open")
	default:
	}
	// The querier still works.
	ss := q.Select(context.Background(), false, nil, allMatcher())
	n := 0
	for ss.Next() {
		readSamples(t, ss.At().Iterator(nil))
		n++
	}
	if n != 5 || ss.Err() != nil {
		t.Fatalf("%d series, %v", n, ss.Err())
	}
	q.Close()
	q.Close() // idempotent
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := b.Querier(0, 1000); err == nil {
		t.Fatal("Querier after Close succeeded")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRemove: Remove leaves nothing, and a leftover of a crash in the middle
// of it is recognised as temporary (a caller removes it at startup).
func TestRemove(t *testing.T) {
	dir := t.TempDir()
	u := ulid.Make()
	b := filepath.Join(dir, u.String())
	if err := os.MkdirAll(filepath.Join(b, "chunks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "chunks", "000001"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Remove(b); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("after Remove: %v", entries)
	}
	if err := Remove(b); err == nil {
		t.Fatal("Remove of a missing block succeeded")
	}
}
