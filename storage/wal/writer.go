package wal

import (
	"fmt"
)

// fileWriter puts group commits on disk. Two implementations exist: pwrite
// (pwrite(2) + fdatasync(2) through File) and, on Linux, io_uring (one
// submission per group commit: a write linked to an fdatasync). Both must
// leave byte-identical files.
type fileWriter interface {
	// writeAt writes all of p to f at off and, if sync, then makes f's data
	// durable. p must not be modified until it returns.
	writeAt(f File, p []byte, off int64, sync bool) error
	// sync makes f's data durable.
	sync(f File) error
	close() error
	name() string
}

// pwriteWriter writes through the File interface.
type pwriteWriter struct{}

func (pwriteWriter) writeAt(f File, p []byte, off int64, sync bool) error {
	if _, err := f.WriteAt(p, off); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if sync {
		return pwriteWriter{}.sync(f)
	}
	return nil
}

func (pwriteWriter) sync(f File) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fdatasync: %w", err)
	}
	return nil
}

func (pwriteWriter) close() error { return nil }
func (pwriteWriter) name() string { return WriterPwrite }

// newFileWriter picks the writer named by kind for fs.
func newFileWriter(kind string, fs FS) (fileWriter, error) {
	_, osfs := fs.(OSFS)
	switch kind {
	case WriterPwrite:
		return pwriteWriter{}, nil
	case WriterIOUring:
		if !osfs {
			return nil, fmt.Errorf("wal: the io_uring writer needs the OS filesystem")
		}
		w, err := newURingWriter()
		if err != nil {
			return nil, fmt.Errorf("wal: io_uring writer: %w", err)
		}
		return w, nil
	default: // auto
		if osfs {
			if w, err := newURingWriter(); err == nil {
				return w, nil
			}
		}
		return pwriteWriter{}, nil
	}
}
