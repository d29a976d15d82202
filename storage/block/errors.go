package block

import (
	"errors"
	"fmt"
)

// ErrEmpty is returned by Write and Compact (which write nothing then) when
// the input holds no sample in the block's range.
var ErrEmpty = errors.New("block: no samples")

// ErrCorrupt is wrapped by every error about damaged block files:
// errors.Is(err, ErrCorrupt) tells damage from I/O or usage errors.
var ErrCorrupt = errors.New("block: corrupt")

// CorruptError says which file is damaged and where.
type CorruptError struct {
	File   string // the file's path
	Offset int64  // byte offset in the file, -1 when the damage has no position
	Reason string
	Err    error // an underlying error (a JSON syntax error), or nil
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("block: corrupt %s", e.File)
	if e.Offset >= 0 {
		msg += fmt.Sprintf(" at offset %d", e.Offset)
	}
	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrCorrupt) true, and keeps the cause.
func (e *CorruptError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrCorrupt, e.Err}
	}
	return []error{ErrCorrupt}
}

func corruptf(file string, off int64, format string, args ...any) error {
	return &CorruptError{File: file, Offset: off, Reason: fmt.Sprintf(format, args...)}
}
