package wal

import (
	"errors"
	"fmt"
)

// ErrCorruption is matched (errors.Is) by every CorruptionError.
var ErrCorruption = errors.New("wal: corruption")

// ErrClosed is returned by calls on a closed WAL.
var ErrClosed = errors.New("wal: closed")

// CorruptionError says where a WAL file is damaged. Segment is the segment
// number, or the checkpoint's number when the damage is in a checkpoint.
type CorruptionError struct {
	Dir        string
	Segment    SegmentNum
	Offset     int64
	Checkpoint bool // the damage is in checkpoint.<Segment>
	Err        error
}

func (e *CorruptionError) Error() string {
	what := "segment " + SegmentName(e.Segment)
	if e.Checkpoint {
		what = CheckpointName(e.Segment)
	}
	return fmt.Sprintf("wal: corruption in %s/%s at offset %d: %v", e.Dir, what, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCorruption) true.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorruption }
