package storage

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBlockReload copies the blocks of one server's tenant into another's
// running tenant, as a backfill would, and removes one again: within the
// reload interval the copied blocks are served (the model's samples of
// their ranges, nothing else), and after a removal the removed block's
// samples are no longer. A block directory that does not open is left out
// and picked up once it is whole.
func TestBlockReload(t *testing.T) {
	src, srcTenant, model := cutTenant(t, t.TempDir())
	metas := srcTenant.Blocks()
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	dst := openBlocksDB(t, t.TempDir(), nil, func(o *Options) { o.BlockReloadInterval = time.Second })
	defer dst.Close()
	tn := dst.Default()
	if got := readRange(t, tn, math.MinInt64, math.MaxInt64); len(got) != 0 {
		t.Fatalf("fresh tenant serves %d series", len(got))
	}

	// A half-copied block (no meta) is left out, the whole ones are served.
	first := metas[0].ULID.String()
	for _, m := range metas {
		name := m.ULID.String()
		from := filepath.Join(srcTenant.blocksDir, name)
		to := filepath.Join(tn.blocksDir, name)
		if out, err := exec.Command("cp", "-r", from, to).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v: %s", err, out)
		}
		if name == first {
			if err := os.Rename(filepath.Join(to, "meta.json"), filepath.Join(t.TempDir(), "meta.json")); err != nil {
				t.Fatal(err)
			}
		}
	}
	inBlocks := func(skip string) blockModel {
		want := blockModel{}
		for _, m := range metas {
			if m.ULID.String() == skip {
				continue
			}
			for k, ps := range model.in(m.MinTime, m.MaxTime-1) {
				want[k] = append(want[k], ps...)
			}
		}
		return want
	}
	waitModel := func(want blockModel, what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := readRange(t, tn, math.MinInt64, math.MaxInt64)
			d := diffModels(want, got)
			if d == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s", what, d)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitModel(inBlocks(first), "after copying blocks in (one without its meta)")

	// Put the meta back from the source (it was moved out of the copy).
	if out, err := exec.Command("cp", filepath.Join(srcTenant.blocksDir, first, "meta.json"), filepath.Join(tn.blocksDir, first)).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	waitModel(inBlocks(""), "after completing the half-copied block")

	last := metas[len(metas)-1].ULID.String()
	if err := os.RemoveAll(filepath.Join(tn.blocksDir, last)); err != nil {
		t.Fatal(err)
	}
	if err := tn.ReloadBlocks(); err != nil {
		t.Fatal(err)
	}
	want := inBlocks(last)
	if d := diffModels(want, readRange(t, tn, math.MinInt64, math.MaxInt64)); d != "" {
		t.Fatalf("after removing a block: %s", d)
	}
	if n := len(tn.Blocks()); n != len(metas)-1 {
		t.Fatalf("%d blocks served, want %d", n, len(metas)-1)
	}
}
