package block

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Snapshot writes a copy of the block into dir/<ULID>/: hard links to its
// files (they are never modified in place: tombstones and meta.json are
// replaced by rename), copies where a link fails (another filesystem).
func (b *Block) Snapshot(dir string) error {
	if err := linkTree(b.dir, filepath.Join(dir, filepath.Base(b.dir))); err != nil {
		return fmt.Errorf("block: snapshot %s: %w", filepath.Base(b.dir), err)
	}
	return syncDir(dir)
}

// linkTree recreates the directory tree src at dst with hard links to its
// files, copying a file when the link fails.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if err := os.Link(path, target); err == nil {
			return nil
		}
		return copyFile(path, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
