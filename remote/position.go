package remote

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"mytsdb/storage/wal"
)

// positionMagic starts a position file; the version lets a later format be
// told apart.
const positionMagic = "mytsdb-remote-write-position v1"

// encodePosition is the text of a position file: the magic line, then
// "<segment> <offset>".
func encodePosition(p wal.Position) []byte {
	return fmt.Appendf(nil, "%s\n%d %d\n", positionMagic, p.Segment, p.Offset)
}

// decodePosition parses a position file.
func decodePosition(b []byte) (wal.Position, error) {
	s := string(b)
	head, rest, ok := strings.Cut(s, "\n")
	if !ok || head != positionMagic {
		return wal.Position{}, errors.New("not a remote write position file")
	}
	rest, ok = strings.CutSuffix(rest, "\n")
	if !ok {
		return wal.Position{}, errors.New("position file truncated")
	}
	segS, offS, ok := strings.Cut(rest, " ")
	if !ok {
		return wal.Position{}, fmt.Errorf("malformed position %q", rest)
	}
	seg, err := strconv.ParseUint(segS, 10, 32)
	if err != nil {
		return wal.Position{}, fmt.Errorf("malformed segment: %w", err)
	}
	off, err := strconv.ParseInt(offS, 10, 64)
	if err != nil || off < 0 {
		return wal.Position{}, fmt.Errorf("malformed offset %q", offS)
	}
	return wal.Position{Segment: wal.SegmentNum(seg), Offset: off}, nil
}

// readPosition reads a saved position; ok is false when there is none.
func readPosition(path string) (p wal.Position, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("remote: read position: %w", err)
	}
	p, err = decodePosition(b)
	if err != nil {
		return p, false, fmt.Errorf("remote: position file %s: %w", path, err)
	}
	return p, true, nil
}

// writePosition replaces the file at path atomically. It is not synced: a
// crash may leave an older position, which only means samples sent again.
func writePosition(path string, p wal.Position) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, encodePosition(p), 0o644); err != nil {
		return fmt.Errorf("remote: write position: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("remote: write position: %w", err)
	}
	return nil
}

func positionPath(dir, hash string) string { return filepath.Join(dir, hash+".position") }
