package chunkenc

import (
	"errors"
	"fmt"
)

// ErrCorrupt is matched (errors.Is) by every error about undecodable chunk bytes.
var ErrCorrupt = errors.New("corrupt chunk")

// CorruptError says where in a chunk's bytes decoding failed, so a caller can
// report it with the block and series it read the chunk from.
type CorruptError struct {
	Offset int // byte offset in the chunk's data
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt chunk at byte %d: %s", e.Offset, e.Reason)
}

func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func corruptf(off int, format string, args ...any) error {
	return &CorruptError{Offset: off, Reason: fmt.Sprintf(format, args...)}
}
