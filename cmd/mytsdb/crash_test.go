package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// The crash loop's size: `make test` runs 20 kills of 8 series; `make soak`
// sets MYTSDB_SOAK_KILLS (and may set MYTSDB_SOAK_SERIES) for a longer run.
const (
	soakKillsEnv  = "MYTSDB_SOAK_KILLS"
	soakSeriesEnv = "MYTSDB_SOAK_SERIES"
)

// ledgerSpan is how much sample time one ledger covers before the crash loop
// starts the next one. The writer advances 100 ms of sample time per batch,
// hundreds of batches a second, and ledger.verify reads a 2h window: a soak
// that kept one ledger would outgrow that window and report acknowledged
// samples as missing. Each new ledger continues where the previous stopped,
// under its own metric name, so the head only ever sees in-order samples.
const ledgerSpan = time.Hour

// soakStartAgo is how far before now the crash loop's sample time starts.
// The writer advances it some 40 times faster than the clock (100 ms a
// batch, hundreds of batches a second): started near now, it would pass
// remote write's limit of 10 minutes ahead within two minutes of a soak and
// every later batch would be refused.
const soakStartAgo = 24 * time.Hour

// TestCrashLoopRemoteWrite SIGKILLs mytsdb at random moments — during
// startup and WAL replay as well as under write load — 20 times (or
// $MYTSDB_SOAK_KILLS) while a writer pushes remote-write batches without
// pause. The block range is crashBlockRange, so the head is cut several
// times a second of writing and the blocks compacted: the kills land before,
// during and after cuts and compactions. After every restart all
// acknowledged samples must be present with their exact values, nothing may
// be duplicated or invented, and the blocks must not overlap nor hold more
// samples than were sent (checkBlocks). Before each kill of a ready server
// it reads the head cuts, compactions and loaded blocks from /metrics for
// the summary.
func TestCrashLoopRemoteWrite(t *testing.T) {
	kills := envPositive(t, soakKillsEnv, 20)
	series := envPositive(t, soakSeriesEnv, 8)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, "global:\n  scrape_interval: 15s\n")
	addr := freeAddr(t)
	args := []string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--web.enable-remote-write-receiver",
		"--storage.tsdb.min-block-duration=" + model.Duration(crashBlockRange).String(),
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d kills, %d series", seed, kills, series)
	rng := rand.New(rand.NewPCG(seed, 0))
	ledgerStart := time.Now().Add(-soakStartAgo)
	ledgers := []*ledger{newLedger("crash_rw", series, ledgerStart)}
	began := time.Now()

	stop, done := make(chan struct{}), make(chan struct{})
	go ledgers[0].writer(addr, stop, done)
	defer func() { close(stop); <-done }()

	var (
		last tally
		m    soakMaintenance
	)
	for i := 0; i < kills; i++ {
		p := start(t, mytsdbBinary, dir, addr, args...)
		if i%4 == 3 {
			// Kill during startup: before or while the WAL replays.
			time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		} else {
			p.waitReady(30 * time.Second)
			time.Sleep(time.Duration(50+rng.IntN(900)) * time.Millisecond)
			m.read(p)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		leftovers, err := tmpBlockDirs(filepath.Join(dir, "data"))
		if err != nil {
			t.Fatal(err)
		}
		if len(leftovers) > 0 {
			m.midWrite++
		}

		// Restart and check everything acknowledged so far, in every
		// ledger. The writer keeps pushing meanwhile; verify holds the
		// ledger lock, so the check sees a consistent set of
		// acknowledgements.
		p = start(t, mytsdbBinary, dir, addr, args...)
		p.waitReady(30 * time.Second)
		if err := leftoversGone(leftovers); err != nil {
			t.Fatalf("kill %d: %v", i+1, err)
		}
		for _, l := range ledgers {
			if err := l.verify(p); err != nil {
				t.Fatalf("kill %d, %s: %v", i+1, l.metric, err)
			}
		}
		if _, err := checkBlocks(p, ledgers, nil); err != nil {
			t.Fatalf("kill %d: %v", i+1, err)
		}
		if i == kills-1 {
			// Independent count for the summary: what was acknowledged,
			// what the server returned, and any repeated timestamp.
			for _, l := range ledgers {
				c, err := l.tally(p)
				if err != nil {
					t.Fatalf("kill %d, %s: %v", i+1, l.metric, err)
				}
				last.add(c)
			}
		}
		m.read(p)
		p.kill()

		cur := ledgers[len(ledgers)-1]
		if end := time.UnixMilli(cur.nextTime()); i < kills-1 && end.Sub(ledgerStart) >= ledgerSpan {
			close(stop)
			<-done
			ledgerStart = time.UnixMilli(cur.nextTime())
			next := newLedger(fmt.Sprintf("crash_rw_%d", len(ledgers)), series, ledgerStart)
			ledgers = append(ledgers, next)
			stop, done = make(chan struct{}), make(chan struct{})
			go next.writer(addr, stop, done)
		}
	}
	batches, failed := 0, 0
	for _, l := range ledgers {
		batches += l.acks()
		failed += l.failures()
	}
	t.Logf("soak summary: kills=%d series=%d ledgers=%d batches_acked=%d batches_failed=%d samples_acked=%d samples_verified=%d samples_returned=%d duplicates=%d head_cuts=%d compactions=%d blocks_loaded_last=%d blocks_loaded_max=%d metrics_reads=%d kills_mid_block_write=%d elapsed=%s",
		kills, series, len(ledgers), batches, failed, last.acked, last.verified, last.returned, last.duplicates,
		m.cuts, m.compactions, m.blocksLast, m.blocksMax, m.reads, m.midWrite, time.Since(began).Round(time.Millisecond))
	if batches < kills {
		t.Fatalf("only %d batches acknowledged over %d runs", batches, kills)
	}
	if m.cuts == 0 || m.compactions == 0 {
		t.Fatalf("%d head cuts and %d compactions seen: the kills did not span the blocks' maintenance", m.cuts, m.compactions)
	}
	if last.duplicates != 0 || last.verified != last.acked {
		t.Fatalf("final count: %d of %d acknowledged samples returned, %d duplicates", last.verified, last.acked, last.duplicates)
	}
}

// soakMaintenance adds up what the crash loop's servers report of their
// blocks on /metrics just before they are killed (the counters start at zero
// in every process): head cuts (mytsdb_tsdb_head_cuts_total), compactions of
// blocks (prometheus_tsdb_compactions_total, which counts the cuts too, less
// those) and blocks loaded (prometheus_tsdb_blocks_loaded); and the kills
// that left a block being written or deleted (a temporary directory, which
// the restart must remove).
type soakMaintenance struct {
	cuts, compactions     int
	blocksLast, blocksMax int
	reads                 int
	midWrite              int
}

func (m *soakMaintenance) read(p *proc) {
	const (
		cutsName   = "mytsdb_tsdb_head_cuts_total"
		compName   = "prometheus_tsdb_compactions_total"
		loadedName = "prometheus_tsdb_blocks_loaded"
	)
	v, err := p.metrics(cutsName, compName, loadedName)
	if err != nil {
		p.t.Logf("reading /metrics before a kill: %v", err)
		return
	}
	m.reads++
	m.cuts += int(v[cutsName])
	m.compactions += int(v[compName] - v[cutsName])
	m.blocksLast = int(v[loadedName])
	m.blocksMax = max(m.blocksMax, m.blocksLast)
}

// envPositive reads a positive integer from the environment, or returns def.
func envPositive(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("$%s=%q: want a positive integer", name, s)
	}
	return n
}

// tally counts a ledger against the server: samples acknowledged, how many
// of them the server returned, all samples returned, and returned samples
// whose (series, timestamp) repeats.
type tally struct{ acked, verified, returned, duplicates int }

func (c *tally) add(o tally) {
	c.acked += o.acked
	c.verified += o.verified
	c.returned += o.returned
	c.duplicates += o.duplicates
}

func (l *ledger) tally(p *proc) (tally, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	got, err := p.rangeSamples(l.metric, "2h", time.UnixMilli(l.nextT).Add(time.Minute))
	if err != nil {
		return tally{}, err
	}
	var c tally
	for key, samples := range got {
		seen := make(map[int64]bool, len(samples))
		for _, s := range samples {
			c.returned++
			if seen[s.T] {
				c.duplicates++
				continue
			}
			seen[s.T] = true
			if _, ok := l.acked[key][s.T]; ok {
				c.verified++
			}
		}
	}
	for _, acked := range l.acked {
		c.acked += len(acked)
	}
	return c, nil
}

// nextTime is the timestamp (ms) the ledger's next batch would get.
func (l *ledger) nextTime() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nextT
}
