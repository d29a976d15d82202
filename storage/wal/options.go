package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SyncPolicy says when Log returns.
type SyncPolicy string

const (
	// SyncAlways: Log returns after the records are fdatasync'ed (group commit).
	SyncAlways SyncPolicy = "always"
	// SyncInterval: Log returns after write(2); the log is fdatasync'ed every
	// Options.SyncInterval, when a segment is closed and on Close.
	SyncInterval SyncPolicy = "interval"
)

// Writer names for Options.Writer.
const (
	WriterAuto    = "auto"     // io_uring if it can be set up, else pwrite
	WriterIOUring = "io_uring" // io_uring or Open fails
	WriterPwrite  = "pwrite"   // pwrite(2) + fdatasync(2)
)

// Defaults.
const (
	DefaultSegmentSize  = 128 << 20
	DefaultSyncInterval = time.Second
	// MinSegmentSize keeps a segment able to hold a few frames.
	MinSegmentSize = 4 << 10
)

// Options configure a WAL. The zero value of every field but Dir means its
// default.
type Options struct {
	Dir          string        // e.g. <data>/<tenant>/wal; created if missing
	SegmentSize  int64         // default 128 MiB; every segment is preallocated to it
	Sync         SyncPolicy    // default SyncAlways
	SyncInterval time.Duration // default 1s; used with SyncInterval
	Writer       string        // "auto" (default), "io_uring", "pwrite"
	// Compression is how records are written: "none" (default), "snappy" or
	// "zstd". Reading does not depend on it: every reader decodes every
	// kind, so it may change from one Open to the next.
	Compression string
	Logger      *slog.Logger // default: discard
	// Registerer receives the WAL's metrics; may be nil. Two WALs in one
	// process (two tenants) must each get a registerer wrapped with their own
	// labels, e.g. prometheus.WrapRegistererWith(prometheus.Labels{"tenant": id}, reg).
	Registerer prometheus.Registerer
	// Progress, if set, receives Replay's progress (a server shows it while
	// it starts, before the WAL is handed out); default: the WAL's own.
	Progress *ReplayProgress
	// FS is the filesystem under the WAL; default OSFS. Tests pass a MemFS.
	FS FS
	// HoldAtOpen keeps the segments the newest checkpoint covers (Open
	// leaves them, checkpoints delete none) until ReleaseOpenHold, so that
	// followers of a restarted process can take their Holds first.
	HoldAtOpen bool
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.Sync == "" {
		o.Sync = SyncAlways
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.Writer == "" {
		o.Writer = WriterAuto
	}
	if o.Compression == "" {
		o.Compression = CompressionNone
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FS == nil {
		o.FS = OSFS{}
	}
	if o.Progress == nil {
		o.Progress = &ReplayProgress{}
	}
	return o
}

// Validate reports every problem of o at once.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("Dir is empty"))
	}
	if o.SegmentSize != 0 && (o.SegmentSize < MinSegmentSize || o.SegmentSize > 1<<32) {
		errs = append(errs, fmt.Errorf("SegmentSize %d outside [%d, 4GiB]", o.SegmentSize, MinSegmentSize))
	}
	switch o.Sync {
	case "", SyncAlways, SyncInterval:
	default:
		errs = append(errs, fmt.Errorf("Sync %q is neither %q nor %q", o.Sync, SyncAlways, SyncInterval))
	}
	if o.SyncInterval < 0 {
		errs = append(errs, fmt.Errorf("SyncInterval %v is negative", o.SyncInterval))
	}
	switch o.Writer {
	case "", WriterAuto, WriterIOUring, WriterPwrite:
	default:
		errs = append(errs, fmt.Errorf("Writer %q is not one of auto, io_uring, pwrite", o.Writer))
	}
	switch o.Compression {
	case "", CompressionNone, CompressionSnappy, CompressionZstd:
	default:
		errs = append(errs, fmt.Errorf("Compression %q is not one of none, snappy, zstd", o.Compression))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wal: invalid options: %w", err)
	}
	return nil
}
