package wal

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// MemFS is an in-memory FS that remembers what has been made durable, for
// crash tests (pebble's CrashClone idea). A file's bytes become durable on
// File.Sync; a directory's entries (creations, renames, removals) on
// FS.SyncDir. CrashClone returns the filesystem as a crash at this instant
// would leave it: every unsynced byte and unsynced directory change dropped.
// Directories themselves are durable as soon as MkdirAll returns.
type MemFS struct {
	mu     sync.Mutex
	dirs   map[string]*memDir
	inject func(op, name string) error
}

type memDir struct {
	cur    map[string]*memNode
	synced map[string]*memNode
}

// memNode is a file: data holds its first bytes, and the rest up to size
// are zeros (a preallocated tail costs no memory).
type memNode struct {
	mu         sync.Mutex
	data       []byte
	size       int64
	synced     []byte
	syncedSize int64
}

// NewMemFS returns an empty MemFS.
func NewMemFS() *MemFS { return &MemFS{dirs: map[string]*memDir{}} }

var _ FS = (*MemFS)(nil)

// InjectError makes every later operation call fn first (op is "create",
// "write", "sync", "syncdir", "remove", "rename", "truncate", "preallocate");
// a non-nil result fails the operation. nil removes the hook.
func (fs *MemFS) InjectError(fn func(op, name string) error) {
	fs.mu.Lock()
	fs.inject = fn
	fs.mu.Unlock()
}

func (fs *MemFS) check(op, name string) error {
	fs.mu.Lock()
	fn := fs.inject
	fs.mu.Unlock()
	if fn != nil {
		return fn(op, name)
	}
	return nil
}

// CrashClone returns a new MemFS holding only what was durable.
func (fs *MemFS) CrashClone() *MemFS {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	c := NewMemFS()
	for path, d := range fs.dirs {
		nd := &memDir{cur: map[string]*memNode{}, synced: map[string]*memNode{}}
		for name, n := range d.synced {
			n.mu.Lock()
			data := append([]byte(nil), n.synced...)
			size := n.syncedSize
			n.mu.Unlock()
			nn := &memNode{data: data, size: size, synced: append([]byte(nil), data...), syncedSize: size}
			nd.cur[name] = nn
			nd.synced[name] = nn
		}
		c.dirs[path] = nd
	}
	return c
}

func (fs *MemFS) lookupDir(name string) (*memDir, string, error) {
	dir, base := filepath.Split(filepath.Clean(name))
	d := fs.dirs[filepath.Clean(dir)]
	if d == nil {
		return nil, "", &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return d, base, nil
}

func (fs *MemFS) MkdirAll(dir string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if fs.dirs[d] == nil {
			fs.dirs[d] = &memDir{cur: map[string]*memNode{}, synced: map[string]*memNode{}}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func (fs *MemFS) Create(name string) (File, error) {
	if err := fs.check("create", name); err != nil {
		return nil, err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.lookupDir(name)
	if err != nil {
		return nil, err
	}
	if d.cur[base] != nil {
		return nil, &os.PathError{Op: "create", Path: name, Err: os.ErrExist}
	}
	n := &memNode{}
	d.cur[base] = n
	return &memFile{fs: fs, n: n, name: name}, nil
}

func (fs *MemFS) open(name string, ro bool) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.lookupDir(name)
	if err != nil {
		return nil, err
	}
	n := d.cur[base]
	if n == nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return &memFile{fs: fs, n: n, name: name, ro: ro}, nil
}

func (fs *MemFS) OpenRW(name string) (File, error) { return fs.open(name, false) }
func (fs *MemFS) Open(name string) (File, error)   { return fs.open(name, true) }

func (fs *MemFS) Remove(name string) error {
	if err := fs.check("remove", name); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.lookupDir(name)
	if err != nil {
		return err
	}
	if d.cur[base] == nil {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
	}
	delete(d.cur, base)
	return nil
}

func (fs *MemFS) Rename(oldname, newname string) error {
	if err := fs.check("rename", oldname); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	od, ob, err := fs.lookupDir(oldname)
	if err != nil {
		return err
	}
	nd, nb, err := fs.lookupDir(newname)
	if err != nil {
		return err
	}
	n := od.cur[ob]
	if n == nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: os.ErrNotExist}
	}
	delete(od.cur, ob)
	nd.cur[nb] = n
	return nil
}

func (fs *MemFS) List(dir string) ([]string, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d := fs.dirs[filepath.Clean(dir)]
	if d == nil {
		return nil, &os.PathError{Op: "readdir", Path: dir, Err: os.ErrNotExist}
	}
	names := make([]string, 0, len(d.cur))
	for n := range d.cur {
		names = append(names, n)
	}
	for p := range fs.dirs {
		if p != filepath.Clean(dir) && filepath.Dir(p) == filepath.Clean(dir) {
			names = append(names, filepath.Base(p))
		}
	}
	sort.Strings(names)
	return names, nil
}

func (fs *MemFS) SyncDir(dir string) error {
	if err := fs.check("syncdir", dir); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d := fs.dirs[filepath.Clean(dir)]
	if d == nil {
		return &os.PathError{Op: "sync", Path: dir, Err: os.ErrNotExist}
	}
	d.synced = make(map[string]*memNode, len(d.cur))
	for k, v := range d.cur {
		d.synced[k] = v
	}
	return nil
}

type memFile struct {
	fs     *MemFS
	n      *memNode
	name   string
	ro     bool
	closed bool
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("memfs: negative offset")
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	if off >= f.n.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), f.n.size-off))
	c := 0
	if off < int64(len(f.n.data)) {
		c = copy(p[:n], f.n.data[off:])
	}
	clear(p[c:n])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if f.ro {
		return 0, &os.PathError{Op: "write", Path: f.name, Err: os.ErrPermission}
	}
	if err := f.fs.check("write", f.name); err != nil {
		return 0, err
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	end := off + int64(len(p))
	if end > int64(len(f.n.data)) {
		f.n.data = append(f.n.data, make([]byte, end-int64(len(f.n.data)))...)
	}
	copy(f.n.data[off:], p)
	f.n.size = max(f.n.size, end)
	return len(p), nil
}

func (f *memFile) Close() error { f.closed = true; return nil }

func (f *memFile) Sync() error {
	if err := f.fs.check("sync", f.name); err != nil {
		return err
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	f.n.synced = append(f.n.synced[:0], f.n.data...)
	f.n.syncedSize = f.n.size
	return nil
}

func (f *memFile) Truncate(size int64) error {
	if err := f.fs.check("truncate", f.name); err != nil {
		return err
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	if size < int64(len(f.n.data)) {
		f.n.data = f.n.data[:size:size] // a later growth must not see the old bytes
	}
	f.n.size = size
	return nil
}

func (f *memFile) Preallocate(size int64) error {
	if err := f.fs.check("preallocate", f.name); err != nil {
		return err
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	f.n.size = max(f.n.size, size)
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	return f.n.size, nil
}

// NextData and NextHole make a preallocated tail a hole.
func (f *memFile) NextData(off, size int64) (int64, error) {
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	if off < int64(len(f.n.data)) {
		return off, nil
	}
	return size, nil
}

func (f *memFile) NextHole(off, size int64) (int64, error) {
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	if off < int64(len(f.n.data)) {
		return min(int64(len(f.n.data)), size), nil
	}
	return off, nil
}
