package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

// tierCrashFlags make every cut block final (no compaction range above the
// block range) and drop it locally as soon as its Parquet copy verifies.
var tierCrashFlags = []string{
	"--storage.tsdb.max-block-duration=" + model.Duration(crashBlockRange).String(),
	"--storage.parquet.local-retention=0s",
}

// tierObjects lists the default tenant's block directories in the default
// FILESYSTEM bucket: ULID → the names of the objects in it.
func (c *blockCrash) tierObjects(t *testing.T) map[string][]string {
	t.Helper()
	root := filepath.Join(c.data, "bucket", "default")
	entries, err := os.ReadDir(root)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, e := range entries {
		files, err := os.ReadDir(filepath.Join(root, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			out[e.Name()] = append(out[e.Name()], f.Name())
		}
	}
	return out
}

func hasFile(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// atTierBeforeMeta: one block's data objects are in the bucket, its
// meta.json is not, and its local copy is there.
func atTierBeforeMeta(t *testing.T, c *blockCrash, _ *proc) {
	disk, err := diskBlocks(c.blocksDir())
	if err != nil {
		t.Fatal(err)
	}
	partial := 0
	for id, files := range c.tierObjects(t) {
		if hasFile(files, "meta.json") {
			continue
		}
		if !hasFile(files, "samples.parquet") {
			t.Fatalf("block %s in the bucket without meta.json holds %v, want its data objects", id, files)
		}
		if _, ok := disk[id]; !ok {
			t.Fatalf("block %s is half uploaded and not on the local disk", id)
		}
		partial++
	}
	if partial != 1 {
		t.Fatalf("%d half-uploaded blocks in the bucket, want 1: %v", partial, c.tierObjects(t))
	}
}

// completeInBucket returns the blocks with a meta.json in the bucket and
// how many of them are still on the local disk.
func (c *blockCrash) completeInBucket(t *testing.T) (complete, local int) {
	t.Helper()
	disk, err := diskBlocks(c.blocksDir())
	if err != nil {
		t.Fatal(err)
	}
	for id, files := range c.tierObjects(t) {
		if hasFile(files, "meta.json") {
			complete++
			if _, ok := disk[id]; ok {
				local++
			}
		}
	}
	return complete, local
}

// atTierWritten: the first block is complete in the bucket (not verified)
// and local.
func atTierWritten(t *testing.T, c *blockCrash, p *proc) {
	complete, local := c.completeInBucket(t)
	if complete != 1 || local != 1 {
		t.Fatalf("%d complete blocks in the bucket, %d of them local; want the one just written, local", complete, local)
	}
	if strings.Contains(p.logText(), "written to the Parquet tier and verified") {
		t.Fatal("a block was verified before the kill")
	}
}

// atTierVerified: the round's blocks are verified in the bucket, all still
// local.
func atTierVerified(t *testing.T, c *blockCrash, p *proc) {
	complete, local := c.completeInBucket(t)
	if complete == 0 || local != complete {
		t.Fatalf("%d complete blocks in the bucket, %d of them local; want all local", complete, local)
	}
	if !strings.Contains(p.logText(), "written to the Parquet tier and verified") {
		t.Fatal("no block verified before the kill")
	}
}

// atTierDropped: verified blocks are gone from the local disk, their copies
// complete in the bucket.
func atTierDropped(t *testing.T, c *blockCrash, _ *proc) {
	complete, local := c.completeInBucket(t)
	if complete == 0 || local == complete {
		t.Fatalf("%d complete blocks in the bucket, %d of them local; want some removed locally", complete, local)
	}
}
