package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// FS is the small filesystem interface under the WAL, so tests can swap in a
// filesystem that simulates crashes (see MemFS). Paths are plain OS paths.
type FS interface {
	// Create creates name exclusively for reading and writing.
	Create(name string) (File, error)
	// OpenRW opens an existing file for reading and writing.
	OpenRW(name string) (File, error)
	// Open opens an existing file for reading.
	Open(name string) (File, error)
	Remove(name string) error
	Rename(oldname, newname string) error
	MkdirAll(dir string) error
	// List returns the names of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// SyncDir makes the entries of dir (creations, renames, removals) durable.
	SyncDir(dir string) error
}

// File is a file of an FS.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// Sync makes the written data durable (fdatasync).
	Sync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Preallocate reserves size bytes and extends the file to size with
	// zeros if it is shorter. It may be a no-op where unsupported.
	Preallocate(size int64) error
	// Size returns the file's current size.
	Size() (int64, error)
}

// sparseFile is implemented by files that can find holes (SEEK_DATA and
// SEEK_HOLE), so checking that a preallocated tail is all zeros does not
// read it.
type sparseFile interface {
	// NextData returns the offset of the first byte at or after off that may
	// hold data, or size if there is none.
	NextData(off, size int64) (int64, error)
	// NextHole returns the offset of the first hole at or after off, or size.
	NextHole(off, size int64) (int64, error)
}

// sequentialFile is implemented by files that accept a readahead hint.
type sequentialFile interface {
	// AdviseSequential tells the kernel the file will be read start to end.
	AdviseSequential()
}

// fdFile is implemented by files backed by an OS file descriptor; the
// io_uring writer needs it.
type fdFile interface {
	Fd() uintptr
}

// OSFS is the operating system's filesystem.
type OSFS struct{}

var _ FS = OSFS{}

func (OSFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (OSFS) OpenRW(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (OSFS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (OSFS) Remove(name string) error             { return os.Remove(name) }
func (OSFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }
func (OSFS) MkdirAll(dir string) error            { return os.MkdirAll(dir, 0o777) }

func (OSFS) List(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	sort.Strings(names)
	return names, nil
}

func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

type osFile struct{ f *os.File }

func (f osFile) ReadAt(p []byte, off int64) (int, error)  { return f.f.ReadAt(p, off) }
func (f osFile) WriteAt(p []byte, off int64) (int, error) { return f.f.WriteAt(p, off) }
func (f osFile) Close() error                             { return f.f.Close() }
func (f osFile) Truncate(size int64) error                { return f.f.Truncate(size) }
func (f osFile) Fd() uintptr                              { return f.f.Fd() }

func (f osFile) AdviseSequential() {
	_ = unix.Fadvise(int(f.f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}

func (f osFile) NextData(off, size int64) (int64, error) { return f.seek(off, size, unix.SEEK_DATA) }
func (f osFile) NextHole(off, size int64) (int64, error) { return f.seek(off, size, unix.SEEK_HOLE) }

func (f osFile) seek(off, size int64, whence int) (int64, error) {
	n, err := unix.Seek(int(f.f.Fd()), off, whence)
	switch {
	case err == unix.ENXIO:
		return size, nil // nothing from off on
	case err != nil:
		// SEEK_DATA/SEEK_HOLE unsupported: everything is data.
		if whence == unix.SEEK_DATA {
			return off, nil
		}
		return size, nil
	}
	return min(n, size), nil
}

func (f osFile) Sync() error {
	for {
		err := unix.Fdatasync(int(f.f.Fd()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "fdatasync", Path: f.f.Name(), Err: err}
		}
		return nil
	}
}

func (f osFile) Preallocate(size int64) error {
	for {
		err := unix.Fallocate(int(f.f.Fd()), 0, 0, size)
		switch {
		case err == unix.EINTR:
			continue
		case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS):
			return nil // the file grows as it is written
		case err != nil:
			return fmt.Errorf("fallocate %s: %w", f.f.Name(), err)
		}
		return nil
	}
}

func (f osFile) Size() (int64, error) {
	fi, err := f.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func joinPath(dir, name string) string { return filepath.Join(dir, name) }
