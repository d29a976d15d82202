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

// saved is what a position file holds: Safe, before which everything was
// sent, and Handed, the end of what had been handed to the queue (samples
// between the two may have been sent: they are checked against the sent
// set when read again).
type saved struct {
	Safe, Handed wal.Position
}

// encodePosition is the text of a position file: the magic line, then
// "<segment> <offset>" for Safe and for Handed.
func encodePosition(s saved) []byte {
	return fmt.Appendf(nil, "%s\n%d %d\n%d %d\n", positionMagic, s.Safe.Segment, s.Safe.Offset, s.Handed.Segment, s.Handed.Offset)
}

// decodePosition parses a position file.
func decodePosition(b []byte) (saved, error) {
	lines := strings.Split(string(b), "\n")
	if len(lines) != 4 || lines[0] != positionMagic || lines[3] != "" {
		return saved{}, errors.New("not a remote write position file")
	}
	safe, err := parsePosition(lines[1])
	if err != nil {
		return saved{}, err
	}
	handed, err := parsePosition(lines[2])
	if err != nil {
		return saved{}, err
	}
	if handed.Less(safe) {
		return saved{}, errors.New("position file: handed before safe")
	}
	return saved{Safe: safe, Handed: handed}, nil
}

func parsePosition(line string) (wal.Position, error) {
	segS, offS, ok := strings.Cut(line, " ")
	if !ok {
		return wal.Position{}, fmt.Errorf("malformed position %q", line)
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
func readPosition(path string) (s saved, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("remote: read position: %w", err)
	}
	s, err = decodePosition(b)
	if err != nil {
		return s, false, fmt.Errorf("remote: position file %s: %w", path, err)
	}
	return s, true, nil
}

// writePosition replaces the file at path atomically. It is not synced: a
// crash may leave an older position, which only means samples read again.
func writePosition(path string, s saved) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, encodePosition(s), 0o644); err != nil {
		return fmt.Errorf("remote: write position: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("remote: write position: %w", err)
	}
	return nil
}

func positionPath(dir, hash string) string { return filepath.Join(dir, hash+".position") }

func sentPath(dir, hash string) string { return filepath.Join(dir, hash+".sent") }
