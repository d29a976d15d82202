package block

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// corruptBlock writes a small block with tombstones and returns its dir.
func corruptBlock(t *testing.T) string {
	t.Helper()
	r := rand.New(rand.NewPCG(15, 16))
	dir := t.TempDir()
	meta, err := Write(context.Background(), dir, genModel(r, 12, 1200).set(), WriteOptions{MinTime: 0, MaxTime: 1200})
	if err != nil {
		t.Fatal(err)
	}
	bdir := filepath.Join(dir, meta.ULID.String())
	b, err := Open(bdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"up", "a"} {
		if err := b.Delete(context.Background(), 100, 900, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, name)); err != nil {
			t.Fatal(err)
		}
	}
	if b.NumTombstones() == 0 {
		t.Fatal("no tombstones")
	}
	b.Close()
	return bdir
}

// readAll opens dir and reads every chunk of every series, deleted or not.
func readAll(dir string) error {
	b, err := Open(dir, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	refs, err := b.index.allSeries()
	if err != nil {
		return err
	}
	var lb labels.ScratchBuilder
	var chks []chunkMeta
	for _, ref := range refs {
		if chks, err = b.index.series(ref, &lb, chks); err != nil {
			return err
		}
		for _, c := range chks {
			chk, err := b.chunks.chunk(c.ref, c.mint)
			if err != nil {
				return err
			}
			it := chk.Iterator(nil)
			for it.Next() != 0 {
			}
			if it.Err() != nil {
				return it.Err()
			}
		}
	}
	return nil
}

// TestCorruptionFlips flips every byte of index, meta.json and tombstones:
// Open must fail with ErrCorrupt each time. A flip in a chunk file must be
// found by Open (segment header) or by reading the chunk (its CRC).
func TestCorruptionFlips(t *testing.T) {
	dir := corruptBlock(t)
	if err := readAll(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{indexFilename, metaFilename, tombstonesFilename, filepath.Join(chunksDirname, "000001")} {
		path := filepath.Join(dir, name)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		isChunks := name == filepath.Join(chunksDirname, "000001")
		for i := range orig {
			if isChunks && i > 64 && i%5 != 0 {
				continue // every chunk is still hit many times
			}
			for _, mask := range []byte{0x01, 0x80} {
				b := append([]byte(nil), orig...)
				b[i] ^= mask
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				var err error
				if isChunks {
					err = readAll(dir)
				} else if blk, oerr := Open(dir, nil); oerr == nil {
					blk.Close()
				} else {
					err = oerr
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("%s: flip %#x at %d: got %v, want ErrCorrupt", name, mask, i, err)
				}
			}
		}
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := readAll(dir); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptionTruncated: a chunk segment, index, meta.json or tombstones
// file that lost its tail, or grew one, is found at Open.
func TestCorruptionTruncated(t *testing.T) {
	dir := corruptBlock(t)
	for _, name := range []string{filepath.Join(chunksDirname, "000001"), indexFilename, metaFilename, tombstonesFilename} {
		path := filepath.Join(dir, name)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{orig[:len(orig)-1], orig[:len(orig)/2], orig[:0], append(append([]byte(nil), orig...), 0)} {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir, nil)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s of %d bytes (was %d): got %v, want ErrCorrupt", name, len(b), len(orig), err)
			}
			t.Logf("%s of %d bytes: %v", name, len(b), err)
		}
		os.WriteFile(path, orig, 0o644)
	}
	// A missing chunk segment is damage too.
	os.Remove(filepath.Join(dir, chunksDirname, "000001"))
	if _, err := Open(dir, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("missing segment: %v", err)
	}
}
