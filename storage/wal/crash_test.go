package wal

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// crashModel tracks what a crash test logged and what was acknowledged.
type crashModel struct {
	mu      sync.RWMutex // writers hold it shared around Log; a checkpoint holds it exclusively
	ackMu   sync.Mutex
	acked   map[string]bool
	ordered []string // every acknowledged record, in acknowledgement order
}

// TestCrashRandomPoints crashes (CrashClone) at a random filesystem operation
// while writers log under SyncAlways and a checkpoint runs now and then, then
// recovers from the clone and checks: every record whose Log returned before
// the crash replays; nothing replays twice or out of a writer's order;
// nothing corrupt. Each case runs two generations (crash, recover, write,
// crash again).
func TestCrashRandomPoints(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for iter := range 40 {
		fs := NewMemFS()
		var prev [][]byte
		for gen := range 2 {
			crashAt := r.IntN(300)
			// Each generation may write with another compression than the last.
			comp := compressions[(iter+gen)%len(compressions)]
			fs, prev = crashOnce(t, fmt.Sprintf("iter %d gen %d %s", iter, gen, comp), fs, prev, crashAt, iter%3 == 0, comp)
		}
	}
}

// crashOnce opens the WAL on fs, replays it (it must equal prev's
// acknowledged records at least), logs more, crashes at the crashAt-th
// filesystem operation and returns the crashed filesystem and the records
// that must survive it.
func crashOnce(t *testing.T, name string, fs *MemFS, mustHave [][]byte, crashAt int, checkpoints bool, compression string) (*MemFS, [][]byte) {
	t.Helper()
	o := Options{Dir: "/w", FS: fs, SegmentSize: 4096, Sync: SyncAlways, Compression: compression}
	w, err := Open(o)
	if err != nil {
		t.Fatalf("%s: open: %v", name, err)
	}
	replayed, st := replayAll(t, w)
	if st.Corrupted {
		t.Fatalf("%s: corruption after a crash: %+v", name, st)
	}
	checkSurvivors(t, name, replayed, mustHave)

	m := &crashModel{acked: map[string]bool{}}
	for _, r := range replayed {
		m.acked[string(r)] = true
		m.ordered = append(m.ordered, string(r))
	}
	var (
		clone     *MemFS
		mustAfter [][]byte
		ops       int
		once      sync.Once
	)
	crash := func() {
		once.Do(func() {
			// Give callers that were (wrongly) released early time to record
			// their acknowledgement: the commit goroutine is parked here, so a
			// correct WAL releases nobody meanwhile.
			time.Sleep(2 * time.Millisecond)
			m.ackMu.Lock()
			for _, s := range m.ordered {
				mustAfter = append(mustAfter, []byte(s))
			}
			m.ackMu.Unlock()
			clone = fs.CrashClone()
		})
	}
	fs.InjectError(func(op, _ string) error {
		m.ackMu.Lock()
		ops++
		hit := ops == crashAt
		m.ackMu.Unlock()
		if hit {
			crash()
		}
		return nil
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 60 {
				rec := fmt.Sprintf("%s/%d:%d:%s", name, g, i, string(testRecord(i, (i*71+g*13)%400)))
				m.mu.RLock()
				err := w.Log([]byte(rec))
				if err == nil {
					m.ackMu.Lock()
					m.acked[rec] = true
					m.ordered = append(m.ordered, rec)
					m.ackMu.Unlock()
				}
				m.mu.RUnlock()
				if err != nil {
					t.Errorf("%s: log: %v", name, err)
					return
				}
			}
		})
	}
	if checkpoints {
		wg.Go(func() {
			for range 3 {
				m.mu.Lock()
				m.ackMu.Lock()
				state := append([]string(nil), m.ordered...)
				m.ackMu.Unlock()
				err := w.Checkpoint(func(emit func([]byte) error) error {
					for _, s := range state {
						if err := emit([]byte(s)); err != nil {
							return err
						}
					}
					return nil
				})
				m.mu.Unlock()
				if err != nil {
					t.Errorf("%s: checkpoint: %v", name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	crash() // if the crash point was never reached
	fs.InjectError(nil)
	if err := w.Close(); err != nil {
		t.Fatalf("%s: close: %v", name, err)
	}
	return clone, mustAfter
}

// checkSurvivors checks replayed records against the acknowledged ones.
func checkSurvivors(t *testing.T, name string, got, must [][]byte) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range got {
		if seen[string(r)] {
			t.Fatalf("%s: record %q replayed twice", name, trunc(r))
		}
		seen[string(r)] = true
	}
	for _, r := range must {
		if !seen[string(r)] {
			t.Fatalf("%s: acknowledged record %q lost (replayed %d, acknowledged %d)", name, trunc(r), len(got), len(must))
		}
	}
	// Per writer of a generation, records come in order with no gaps.
	next := map[string]int{}
	for _, r := range got {
		var g, i int
		var prefix string
		var n int
		for k := range r {
			if r[k] == '/' {
				prefix = string(r[:k])
				n, _ = fmt.Sscanf(string(r[k+1:]), "%d:%d:", &g, &i)
			}
		}
		if n != 2 {
			t.Fatalf("%s: garbage record %q", name, trunc(r))
		}
		key := fmt.Sprintf("%s/%d", prefix, g)
		if i != next[key] {
			t.Fatalf("%s: writer %s: record %d after %d", name, key, i, next[key]-1)
		}
		next[key]++
	}
}
