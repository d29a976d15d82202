package bench

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// walBytes sums the files under every directory named "wal" below dataDir
// (Prometheus: <data>/wal; mytsdb: <data>/<tenant>/wal), checkpoints
// included. Each file counts up to its last non-zero byte, so that
// preallocated or page-padded segments count what was written, not what was
// reserved.
func walBytes(dataDir string) (int64, error) {
	var total int64
	found := false
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !underWAL(dataDir, path) {
			return nil
		}
		found = true
		n, err := writtenSize(path)
		total += n
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("bench: wal size of %s: %w", dataDir, err)
	}
	if !found {
		return 0, fmt.Errorf("bench: no wal directory under %s", dataDir)
	}
	return total, nil
}

func underWAL(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return false
	}
	for _, part := range strings.Split(filepath.Dir(rel), string(filepath.Separator)) {
		if part == "wal" {
			return true
		}
	}
	return false
}

// writtenSize is the offset just past the last non-zero byte of the file.
func writtenSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	for end := st.Size(); end > 0; {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}
