package remote

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
)

// TestSentJournalSurvivesCrash: requests accepted after the last save of
// the sent file are in the journal: a set read back from the file and the
// journal (as after a SIGKILL, nothing saved or closed) holds every
// accepted request's newest timestamps, equal to the model; a torn last
// record is dropped, the records before it kept; a save empties it.
func TestSentJournalSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "q.sent")
	r := rand.New(rand.NewPCG(3, 4))
	s := newSentSet()
	if err := openJournal(s, path); err != nil {
		t.Fatal(err)
	}
	var all []randomSeries
	observe := func(n int) {
		for range n {
			series := genSeries(r)
			all = append(all, series...)
			if err := s.observe(encodeV1(t, series), remoteapi.WriteV1MessageType); err != nil {
				t.Fatal(err)
			}
		}
	}
	reread := func() *sentSet {
		t.Helper()
		got, err := readSent(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := openJournal(got, path); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = got.closeJournal() })
		return got
	}
	same := func(got *sentSet, want map[uint64]int64) {
		t.Helper()
		if fmt.Sprint(got.max) != fmt.Sprint(want) {
			t.Fatalf("after a crash the set has %d series, want %d (or values differ)", len(got.max), len(want))
		}
	}
	observe(20)
	if err := writeSent(path, s); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(journalPath(path)); err != nil || fi.Size() != 0 {
		t.Fatalf("journal after a save: %v, %v; want empty", fi, err)
	}
	observe(30) // accepted after the save: only in the journal
	same(reread(), wantNewest(all))

	// A torn last record: cut the journal in its last record.
	b, err := os.ReadFile(journalPath(path))
	if err != nil {
		t.Fatal(err)
	}
	before := len(all)
	observe(1)
	b2, err := os.ReadFile(journalPath(path))
	if err != nil || len(b2) <= len(b) {
		t.Fatalf("the journal did not grow: %d -> %d, %v", len(b), len(b2), err)
	}
	if err := os.WriteFile(journalPath(path), b2[:len(b2)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	same(reread(), wantNewest(all[:before]))
}

// FuzzSentJournal: replaying any bytes never panics and spans at most
// them; records appended to them read back (after the whole records
// before, if the input ends on a record boundary).
func FuzzSentJournal(f *testing.F) {
	rec, _ := appendJournalRecord(nil, nil, []sentPair{{1, 5}, {2, -7}})
	f.Add(rec)
	f.Add(append(rec, rec[:len(rec)-1]...))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newSentSet()
		n := replayJournal(s, b)
		if n < 0 || n > len(b) {
			t.Fatalf("replay spans %d of %d bytes", n, len(b))
		}
		more, _ := appendJournalRecord(append([]byte(nil), b[:n]...), nil, []sentPair{{42, 1 << 40}})
		s2 := newSentSet()
		if m := replayJournal(s2, more); m != len(more) {
			t.Fatalf("after %d whole bytes, an appended record is not read: %d of %d", n, m, len(more))
		}
		if got, ok := s2.newest(42); !ok || got < 1<<40 {
			t.Fatalf("appended pair read back as %d, %v", got, ok)
		}
	})
}
