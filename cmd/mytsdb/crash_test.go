package main

import (
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestCrashLoopRemoteWrite SIGKILLs mytsdb at random moments — during
// startup and WAL replay as well as under write load — 20 times while a
// writer pushes remote-write batches without pause. After every restart all
// acknowledged samples must be present with their exact values, and nothing
// may be duplicated or invented.
func TestCrashLoopRemoteWrite(t *testing.T) {
	const kills = 20
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, "global:\n  scrape_interval: 15s\n")
	addr := freeAddr(t)
	args := []string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--web.enable-remote-write-receiver",
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	l := newLedger("crash_rw", 8, time.Now().Add(-50*time.Minute))
	began := time.Now()

	stop, done := make(chan struct{}), make(chan struct{})
	go l.writer(addr, stop, done)
	defer func() { close(stop); <-done }()

	for i := 0; i < kills; i++ {
		p := start(t, mytsdbBinary, dir, addr, args...)
		if i%4 == 3 {
			// Kill during startup: before or while the WAL replays.
			time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		} else {
			p.waitReady(30 * time.Second)
			time.Sleep(time.Duration(50+rng.IntN(900)) * time.Millisecond)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done

		// Restart and check everything acknowledged so far. The writer keeps
		// pushing meanwhile; verify holds the ledger lock, so the check sees
		// a consistent set of acknowledgements.
		p = start(t, mytsdbBinary, dir, addr, args...)
		p.waitReady(30 * time.Second)
		if err := l.verify(p); err != nil {
			t.Fatalf("kill %d: %v", i+1, err)
		}
		p.kill()
	}
	t.Logf("%d kills, %d batches acknowledged, %d failed, %s", kills, l.acks(), l.failures(), time.Since(began).Round(time.Millisecond))
	if l.acks() < kills {
		t.Fatalf("only %d batches acknowledged over %d runs", l.acks(), kills)
	}
}
