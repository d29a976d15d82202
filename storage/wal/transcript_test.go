package wal

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestCheckpointTranscript runs an annotated session against a MemFS, pebble
// datadriven style: each block is a command, "----", and its expected output.
//
//	log <rec>...            Log the records (one call)
//	checkpoint <rec>...     Checkpoint emitting exactly these records
//	crash                   drop everything unsynced (or restore the point armed by crash-before) and reopen
//	crash-before <op> [n]   arm a crash just before the n-th (default 1st) next filesystem op of that kind
//	reopen                  Close and Open
//	replay                  the replayed records and stats
//	ls                      the files of the WAL directory
//	flip <file> <off>       invert the byte at off
//	truncate <file> <size>  truncate a file
const checkpointTranscript = `
log a b c
----
ok

ls
----
00000001

checkpoint b c
----
ok

# The checkpoint covers segment 1, which is gone.
ls
----
checkpoint.00000001

log d e
----
ok

crash
----
ok

replay
----
b c d e
segments=1 corrupted=false

ls
----
00000002 checkpoint.00000001

log f
----
ok

# A crash before the rename leaves the old checkpoint and segments.
crash-before rename
----
ok

checkpoint e f
----
ok

crash
----
ok

ls
----
00000002 00000003 checkpoint.00000001

replay
----
b c d e f
segments=2 corrupted=false

# A crash after the rename but before the old files are deleted: the new
# checkpoint wins, Open removes the rest.
crash-before remove
----
ok

checkpoint f g
----
ok

crash
----
ok

ls
----
checkpoint.00000003

replay
----
f g
segments=0 corrupted=false

log h
----
ok

log i j k
----
ok

crash
----
ok

ls
----
00000004 checkpoint.00000003

# Damage the second record (offset 10 = 9 header bytes + "h").
flip 00000004 12
----
ok

reopen
----
ok

replay
----
f g h
segments=1 corrupted=true at 00000004:10

log l
----
ok

reopen
----
ok

replay
----
f g h l
segments=2 corrupted=false

# A torn tail in the last segment is cut by Open.
truncate 00000005 5
----
ok

reopen
----
ok

replay
----
f g h
segments=2 corrupted=true at 00000005:0

# A crash while a segment's end frame is being synced: nothing is lost.
log m
----
ok

crash-before sync 1
----
ok

checkpoint x
----
ok

crash
----
ok

replay
----
f g h m
segments=3 corrupted=false
`

func TestCheckpointTranscript(t *testing.T) {
	tr := &transcript{t: t, fs: NewMemFS()}
	tr.open()
	defer func() { _ = tr.w.Close() }()
	blocks := strings.Split(strings.TrimSpace(checkpointTranscript), "\n\n")
	for _, b := range blocks {
		var cmd string
		var lines []string
		for _, l := range strings.Split(b, "\n") {
			if !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		cmd = lines[0]
		if len(lines) < 2 || lines[1] != "----" {
			t.Fatalf("malformed block %q", b)
		}
		want := strings.Join(lines[2:], "\n")
		if got := tr.run(cmd); got != want {
			t.Fatalf("%s\ngot:\n%s\nwant:\n%s", cmd, got, want)
		}
	}
}

type transcript struct {
	t  *testing.T
	fs *MemFS
	w  *WAL

	mu      sync.Mutex
	armOp   string
	armN    int
	crashed *MemFS
}

func (tr *transcript) opts() Options {
	return Options{Dir: "/w", FS: tr.fs, SegmentSize: 4096}
}

func (tr *transcript) open() {
	w, err := Open(tr.opts())
	if err != nil {
		tr.t.Fatal(err)
	}
	tr.w = w
}

func (tr *transcript) run(cmd string) string {
	f := strings.Fields(cmd)
	args := f[1:]
	recs := func() [][]byte {
		var out [][]byte
		for _, a := range args {
			out = append(out, []byte(a))
		}
		return out
	}
	switch f[0] {
	case "log":
		if err := tr.w.Log(recs()...); err != nil {
			return err.Error()
		}
	case "checkpoint":
		err := tr.w.Checkpoint(func(emit func([]byte) error) error {
			for _, r := range recs() {
				if err := emit(r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err.Error()
		}
	case "crash-before":
		n := 1
		if len(args) > 1 {
			n, _ = strconv.Atoi(args[1])
		}
		tr.mu.Lock()
		tr.armOp, tr.armN, tr.crashed = args[0], n, nil
		tr.mu.Unlock()
		tr.fs.InjectError(func(op, _ string) error {
			tr.mu.Lock()
			defer tr.mu.Unlock()
			if op == tr.armOp && tr.crashed == nil {
				tr.armN--
				if tr.armN == 0 {
					tr.crashed = tr.fs.CrashClone()
				}
			}
			return nil
		})
	case "crash":
		tr.fs.InjectError(nil)
		tr.mu.Lock()
		clone := tr.crashed
		tr.crashed = nil
		tr.mu.Unlock()
		if clone == nil {
			clone = tr.fs.CrashClone()
		}
		_ = tr.w.Close()
		tr.fs = clone
		tr.open()
	case "reopen":
		if err := tr.w.Close(); err != nil {
			return err.Error()
		}
		tr.open()
	case "replay":
		var got []string
		st, err := tr.w.Replay(func(rec []byte) error {
			got = append(got, string(rec))
			return nil
		})
		if err != nil {
			return err.Error()
		}
		s := fmt.Sprintf("%s\nsegments=%d corrupted=%v", strings.Join(got, " "), st.Segments, st.Corrupted)
		if st.Corrupted {
			s += fmt.Sprintf(" at %s:%d", SegmentName(st.CorruptSegment), st.CorruptOffset)
		}
		return s
	case "ls":
		names, err := tr.fs.List("/w")
		if err != nil {
			return err.Error()
		}
		return strings.Join(names, " ")
	case "flip", "truncate":
		file, err := tr.fs.OpenRW("/w/" + args[0])
		if err != nil {
			return err.Error()
		}
		defer file.Close()
		n, _ := strconv.ParseInt(args[1], 10, 64)
		if f[0] == "truncate" {
			err = file.Truncate(n)
		} else {
			b := make([]byte, 1)
			_, _ = file.ReadAt(b, n)
			b[0] ^= 0xff
			_, err = file.WriteAt(b, n)
		}
		if err != nil {
			return err.Error()
		}
	default:
		tr.t.Fatalf("unknown command %q", cmd)
	}
	return "ok"
}
