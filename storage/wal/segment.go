package wal

import (
	"fmt"
	"strconv"
	"strings"
)

// SegmentNum numbers the segment files of a WAL directory; segments are named
// by it as eight decimal digits ("00000001"), like Prometheus's.
type SegmentNum uint32

const (
	checkpointPrefix = "checkpoint."
	tmpSuffix        = ".tmp"
)

// SegmentName returns the file name of segment n.
func SegmentName(n SegmentNum) string { return fmt.Sprintf("%08d", n) }

// CheckpointName returns the file name of the checkpoint covering every
// segment up to and including n.
func CheckpointName(n SegmentNum) string { return checkpointPrefix + SegmentName(n) }

// parseSegmentName parses a segment file name.
func parseSegmentName(name string) (SegmentNum, bool) {
	if len(name) < 8 {
		return 0, false
	}
	for _, c := range name {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(name, 10, 32)
	if err != nil {
		return 0, false
	}
	return SegmentNum(v), true
}

// parseCheckpointName parses a complete checkpoint's file name.
func parseCheckpointName(name string) (SegmentNum, bool) {
	rest, ok := strings.CutPrefix(name, checkpointPrefix)
	if !ok {
		return 0, false
	}
	return parseSegmentName(rest)
}

// dirState is what a WAL directory holds.
type dirState struct {
	segments   []SegmentNum // ascending, all after the newest checkpoint
	stale      []string     // segments covered by the newest checkpoint, older checkpoints, temporaries
	checkpoint SegmentNum
	hasCkpt    bool
}

func listDir(fs FS, dir string) (dirState, error) {
	var st dirState
	names, err := fs.List(dir)
	if err != nil {
		return st, fmt.Errorf("wal: list %s: %w", dir, err)
	}
	var segs []SegmentNum
	var ckpts []SegmentNum
	for _, name := range names {
		if n, ok := parseSegmentName(name); ok {
			segs = append(segs, n)
			continue
		}
		if n, ok := parseCheckpointName(name); ok {
			ckpts = append(ckpts, n)
			continue
		}
		if strings.HasPrefix(name, checkpointPrefix) && strings.HasSuffix(name, tmpSuffix) {
			st.stale = append(st.stale, name)
		}
	}
	for _, c := range ckpts {
		if !st.hasCkpt || c > st.checkpoint {
			st.checkpoint, st.hasCkpt = c, true
		}
	}
	for _, c := range ckpts {
		if c != st.checkpoint {
			st.stale = append(st.stale, CheckpointName(c))
		}
	}
	for _, s := range segs {
		if st.hasCkpt && s <= st.checkpoint {
			st.stale = append(st.stale, SegmentName(s))
		} else {
			st.segments = append(st.segments, s)
		}
	}
	return st, nil
}
