package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"mytsdb/storage/crashpoint"
)

// crashBlockRange is the block range (--storage.tsdb.min-block-duration) of
// the block crash tests and of the crash loop. The ledger's writer advances
// sample time by 100 ms a batch, some 400 batches a second: a head of 10s
// blocks is cut about four times a second of writing, and four level-1
// blocks make the first compaction into a 30s block, so a second of writing
// crosses cuts and compactions. The flag takes any duration, but 10s is the
// smallest that keeps all of them moving: a cut (a block write and a WAL
// checkpoint) takes tens of milliseconds, and at 1s the writer keeps the
// head due for the next cut as fast as the cuts go, so that compaction,
// retention and the admin requests, which wait for the cuts as in
// Prometheus, wait for the writer to stop; at 100ms hardly anything is
// compacted.
const crashBlockRange = 10 * time.Second

// crashSeries is how many series the block crash tests write, in step.
const crashSeries = 8

// TestCrashPointBlocks starts the real binary with MYTSDB_CRASH_AT armed at
// each of storage/crashpoint's points, drives the operation that reaches it
// (remote writes that cut and compact the head, retention, the admin API's
// delete_series, clean_tombstones and snapshot) until the process SIGKILLs
// itself there, checks that the data directory shows the half-done step the
// point names, and restarts without the variable. After the restart, after
// more writing (the restarted server's own cuts and compactions) and after
// one more clean restart, every acknowledged sample must come back exactly
// once with its exact value unless an acknowledged delete or retention
// removed it; a delete the crash cut short must be applied to each block and
// to the head whole or not at all; the crash's *.tmp-for-creation and
// *.tmp-for-deletion directories must be gone; and the blocks must not
// overlap and hold neither fewer samples than acknowledged nor more than
// sent (queries merge duplicates away; block stats do not).
func TestCrashPointBlocks(t *testing.T) {
	for _, tc := range []struct {
		name  string // the subtest's name, if not point
		point string
		extra []string
		// retention says blocks may expire (samples before the oldest
		// block or the head may be gone).
		retention bool
		// from is where the ledger's sample time starts, relative to now.
		from time.Duration
		// drive runs the server armed at point until the point kills it.
		drive func(c *blockCrash, p *proc) outcome
		// atCrash checks the data directory the crash left.
		atCrash func(t *testing.T, c *blockCrash, p *proc)
		// restarted, if set, runs on the first server after the crash,
		// once its state is checked, and returns the server to go on with.
		restarted func(c *blockCrash, p *proc, out *outcome) *proc
	}{
		{point: crashpoint.CutWritten, from: -time.Hour, drive: writeUntilCrash, atCrash: atCutWritten},
		{point: crashpoint.CompactWritten, from: -time.Hour, drive: writeUntilCrash, atCrash: atCompactWritten},
		{point: crashpoint.CompactParentGone, from: -time.Hour, drive: writeUntilCrash, atCrash: atCompactParentGone},
		{
			// 30s of retention: the newest block's end 30s past an older
			// block's end expires that one. It also makes the largest
			// compaction range 3s (10% of it), under the block range, so
			// nothing is compacted and the first block deletion is
			// retention's, not a compaction's parent's (both rename
			// first). The head is truncated at wall-clock now - 30s, so
			// sample time starts now: the writer runs ahead of the clock,
			// well within remote write's 10 minutes.
			point: crashpoint.RetentionRenamed, extra: []string{"--storage.tsdb.retention.time=30s"}, retention: true,
			drive: writeUntilCrash, atCrash: atRetentionRenamed,
		},
		{
			// Size retention: blocks and WAL over 256 KiB (the WAL alone
			// is, its segments being preallocated), so every cut block
			// expires. A size-only setup would compact up to 31d blocks:
			// --storage.tsdb.max-block-duration keeps compaction out.
			name: "retention-renamed-by-size", point: crashpoint.RetentionRenamed, from: -time.Hour, retention: true,
			extra: []string{"--storage.tsdb.retention.size=128KB", "--storage.tsdb.max-block-duration=" + model.Duration(crashBlockRange).String()},
			drive: writeUntilCrash, atCrash: atRetentionRenamed,
		},
		{
			// The same point reached by the deletion of a compaction's
			// first parent.
			name: "retention-renamed-compaction-parent", point: crashpoint.RetentionRenamed, from: -time.Hour,
			drive: writeUntilCrash, atCrash: atParentRenamed,
		},
		{point: crashpoint.TombstonesRewritten, from: -time.Hour, drive: cleanUntilCrash, atCrash: atTombstonesRewritten},
		{point: crashpoint.SnapshotPartial, from: -time.Hour, drive: snapshotUntilCrash, atCrash: atSnapshotPartial, restarted: snapshotAgain},
		{point: crashpoint.DeleteBlocksDone, from: -time.Hour, drive: deleteUntilCrash, atCrash: atDeleteBlocksDone, restarted: deleteAgain},
		// The Parquet tier (the default FILESYSTEM bucket under the data
		// directory): blocks of the largest range only (final at once),
		// removed locally as soon as their copy verifies.
		{point: crashpoint.TierBeforeMeta, from: -time.Hour, extra: tierCrashFlags, drive: writeUntilCrash, atCrash: atTierBeforeMeta},
		{point: crashpoint.TierWritten, from: -time.Hour, extra: tierCrashFlags, drive: writeUntilCrash, atCrash: atTierWritten},
		{point: crashpoint.TierVerified, from: -time.Hour, extra: tierCrashFlags, drive: writeUntilCrash, atCrash: atTierVerified},
		{point: crashpoint.TierDropped, from: -time.Hour, extra: tierCrashFlags, drive: writeUntilCrash, atCrash: atTierDropped},
	} {
		name := tc.name
		if name == "" {
			name = tc.point
		}
		t.Run(name, func(t *testing.T) {
			began := time.Now()
			c := newBlockCrash(t, tc.point, time.Now().Add(tc.from), tc.extra...)
			p := c.start(crashpoint.EnvVar + "=" + tc.point)
			out := tc.drive(c, p)
			out.retention = tc.retention
			killedAt := c.l.acks()
			tc.atCrash(t, c, p)
			leftovers, err := tmpBlockDirs(c.data)
			if err != nil {
				t.Fatal(err)
			}
			disk, err := diskBlocks(c.blocksDir())
			if err != nil {
				t.Fatal(err)
			}

			p = c.start()
			if err := leftoversGone(leftovers); err != nil {
				t.Error(err)
			}
			bs, _ := p.blocks()
			c.mustVerify(p, &out, "after the restart")
			if tc.restarted != nil {
				p = tc.restarted(c, p, &out)
				c.mustVerify(p, &out, "after the restarted server's requests")
			}

			// The restarted server's own maintenance, over what the crash
			// left: more cuts and compactions.
			cuts := c.writeFor(p, time.Second)
			c.mustVerify(p, &out, "after writing on")
			final, _ := p.blocks()

			stopGracefully(t, p)
			if tmp, err := tmpBlockDirs(c.data); err != nil || len(tmp) > 0 {
				t.Errorf("after a clean stop: temporary block directories %v (%v)", tmp, err)
			}
			p = c.start()
			c.mustVerify(p, &out, "after a clean restart")
			p.kill()

			acked := 0
			for _, m := range c.l.acked {
				acked += len(m)
			}
			t.Logf("%s: killed after %d batches with %d blocks on disk, leftovers %d; restart served %d blocks; %d more cuts, %d blocks at the end; %d samples acked, %d deletes acked; %s",
				name, killedAt, len(disk), len(leftovers), len(bs), cuts, len(final), acked, len(out.acked), time.Since(began).Round(time.Millisecond))
			if out.resolved != "" {
				t.Logf("the delete cut short: %s", out.resolved)
			}
		})
	}
}

// blockCrash is one block crash test's server: its directories and flags,
// and the ledger its writer fills.
type blockCrash struct {
	t     *testing.T
	point string
	dir   string // the process's working directory
	data  string // --storage.tsdb.path
	addr  string
	args  []string
	l     *ledger
	stop  chan struct{} // closed to stop the writer; nil when none runs
	done  chan struct{}
}

func newBlockCrash(t *testing.T, point string, from time.Time, extra ...string) *blockCrash {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, "global:\n  scrape_interval: 15s\n")
	c := &blockCrash{
		t: t, point: point, dir: dir, data: filepath.Join(dir, "data"), addr: freeAddr(t),
		l: newLedger("crash_blocks", crashSeries, from),
	}
	c.args = append(serverArgs(cfg, c.data, c.addr), extra...)
	t.Cleanup(c.stopWriter)
	return c
}

// serverArgs are the flags of a block crash test's server.
func serverArgs(cfg, data, addr string) []string {
	return []string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + data,
		"--web.listen-address=" + addr,
		"--web.enable-remote-write-receiver",
		"--web.enable-admin-api",
		"--storage.tsdb.min-block-duration=" + model.Duration(crashBlockRange).String(),
	}
}

func (c *blockCrash) blocksDir() string { return filepath.Join(c.data, "default", "blocks") }

// start starts the server with env added to its environment and waits
// until it is ready.
func (c *blockCrash) start(env ...string) *proc {
	c.t.Helper()
	p := startEnv(c.t, env, mytsdbBinary, c.dir, c.addr, c.args...)
	p.waitReady(30 * time.Second)
	return p
}

func (c *blockCrash) startWriter() {
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go c.l.writer(c.addr, c.stop, c.done)
}

func (c *blockCrash) stopWriter() {
	if c.stop != nil {
		close(c.stop)
		<-c.done
		c.stop = nil
	}
}

// awaitCrash waits for p to die, and fails unless a SIGKILL killed it: the
// test sends none, so it was the crash point's.
func (c *blockCrash) awaitCrash(p *proc, timeout time.Duration) {
	c.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		c.t.Fatalf("%s not reached within %s", c.point, timeout)
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) {
		c.t.Fatalf("the server exited (%v), not killed at %s", p.err, c.point)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		c.t.Fatalf("the server ended with %v, not the SIGKILL of %s", p.err, c.point)
	}
}

// waitBlocks waits until p serves at least n blocks and returns them.
func (c *blockCrash) waitBlocks(p *proc, n int) []blockMeta {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if p.exited() {
			c.t.Fatalf("the server died (%v) before it had %d blocks", p.err, n)
		}
		bs, err := p.blocks()
		if err == nil && len(bs) >= n {
			return bs
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("fewer than %d blocks after a minute: %v %v", n, bs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settledBlocks waits until the round a last commit may have started is
// over (the block list the same twice in a row) and returns the blocks.
func (c *blockCrash) settledBlocks(p *proc) []blockMeta {
	c.t.Helper()
	prev, err := p.blocks()
	for i := 0; i < 50 && err == nil; i++ {
		time.Sleep(300 * time.Millisecond)
		var cur []blockMeta
		if cur, err = p.blocks(); err == nil && slices.EqualFunc(prev, cur, func(a, b blockMeta) bool { return a.ULID == b.ULID }) {
			return cur
		}
		prev = cur
	}
	c.t.Fatalf("the blocks did not settle: %v %v", prev, err)
	return nil
}

// writeFor writes for d and until the server has cut its head twice, then
// waits for its maintenance to settle; it returns the cuts.
func (c *blockCrash) writeFor(p *proc, d time.Duration) int {
	c.t.Helper()
	c.startWriter()
	end := time.Now().Add(d)
	deadline := time.Now().Add(time.Minute)
	var cuts float64
	for {
		m, err := p.metrics("mytsdb_tsdb_head_cuts_total")
		if err != nil {
			c.t.Fatal(err)
		}
		cuts = m["mytsdb_tsdb_head_cuts_total"]
		if cuts >= 2 && time.Now().After(end) {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%v cuts in a minute of writing", cuts)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stopWriter()
	c.settledBlocks(p)
	return int(cuts)
}

// outcome is what a drive did beside writing.
type outcome struct {
	// acked are the acknowledged delete_series requests: applied
	// everywhere.
	acked []deletion
	// pending are the requests the crash cut short: each applied whole or
	// not at all to each of regions (the blocks when they were sent) and
	// to the head (past the last of them).
	pending []deletion
	regions []blockMeta
	// retention says blocks may have expired: samples older than the
	// oldest block (or the head, with no blocks) are gone.
	retention bool
	// resolved tells, once checked, where a pending delete was applied.
	resolved string
}

// mustVerify checks the server against the ledger and the outcome, giving
// the blocks a few seconds to stop overlapping (a compaction may resolve
// that).
func (c *blockCrash) mustVerify(p *proc, out *outcome, when string) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.verify(p, out)
		if err == nil {
			return
		}
		if !errors.Is(err, errOverlap) || time.Now().After(deadline) {
			c.t.Fatalf("%s: %v", when, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *blockCrash) verify(p *proc, out *outcome) error {
	l := c.l
	got, err := p.rangeSamples(l.metric, "2h", time.UnixMilli(l.nextTime()).Add(time.Minute))
	if err != nil {
		return err
	}
	gone, err := c.goneFunc(p, out, got)
	if err != nil {
		return err
	}
	if err := l.verifyGone(got, gone); err != nil {
		return err
	}
	_, err = checkBlocks(p, []*ledger{l}, gone)
	return err
}

// goneFunc returns which samples must be absent: those an acknowledged
// delete covers, those a cut-short delete covers in the regions the server
// shows it applied to (it must show all or none of each region's), and,
// under retention, those older than the oldest block.
func (c *blockCrash) goneFunc(p *proc, out *outcome, got map[string][]sample) (func(string, int64) bool, error) {
	cutoff := int64(math.MinInt64)
	if out.retention {
		bs, err := p.blocks()
		if err != nil {
			return nil, err
		}
		if cutoff, err = p.headMinTime(); err != nil {
			return nil, err
		}
		if len(bs) > 0 {
			cutoff = min(cutoff, bs[0].MinTime)
		}
	}
	// region returns the index of the block of out.regions holding ts, or
	// len(out.regions) for the head.
	region := func(ts int64) int {
		for i, b := range out.regions {
			if ts < b.MaxTime {
				return i
			}
		}
		return len(out.regions)
	}
	have := map[string]map[int64]bool{}
	for key, ss := range got {
		have[key] = map[int64]bool{}
		for _, s := range ss {
			have[key][s.T] = true
		}
	}
	applied := make([]map[int]bool, len(out.pending))
	c.l.mu.Lock()
	for i, d := range out.pending {
		total, present := map[int]int{}, map[int]int{}
		for key, acked := range c.l.acked {
			for ts := range acked {
				if d.covers(key, ts) {
					total[region(ts)]++
					if have[key][ts] {
						present[region(ts)]++
					}
				}
			}
		}
		applied[i] = map[int]bool{}
		var desc []string
		for r := 0; r <= len(out.regions); r++ {
			n := total[r]
			if present[r] != 0 && present[r] != n {
				c.l.mu.Unlock()
				return nil, fmt.Errorf("the delete of %s cut short by the crash is half applied to region %d of %v (head last): %d of its %d acknowledged samples remain",
					d, r, out.regions, present[r], n)
			}
			applied[i][r] = present[r] == 0
			name := "head"
			if r < len(out.regions) {
				name = fmt.Sprintf("block [%d,%d)", out.regions[r].MinTime, out.regions[r].MaxTime)
			}
			switch {
			case n == 0:
			case present[r] == 0:
				desc = append(desc, fmt.Sprintf("%s applied (%d samples)", name, n))
			default:
				desc = append(desc, fmt.Sprintf("%s not applied (%d samples)", name, n))
			}
		}
		if out.resolved == "" {
			out.resolved = strings.Join(desc, ", ")
		}
	}
	c.l.mu.Unlock()
	return func(key string, ts int64) bool {
		if ts < cutoff {
			return true
		}
		for _, d := range out.acked {
			if d.covers(key, ts) {
				return true
			}
		}
		for i, d := range out.pending {
			if d.covers(key, ts) && applied[i][region(ts)] {
				return true
			}
		}
		return false
	}, nil
}

// verifyGone is ledger.verify with samples gone must not return (deleted or
// expired) and need not: the rest of the acknowledged ones must, every
// returned sample must have been sent with its exact value, and no
// timestamp may repeat.
func (l *ledger) verifyGone(got map[string][]sample, gone func(key string, ts int64) bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.verifyGoneLocked(got, gone)
}

func (l *ledger) verifyGoneLocked(got map[string][]sample, gone func(key string, ts int64) bool) error {
	for key, samples := range got {
		sent, ok := l.sent[key]
		if !ok {
			return fmt.Errorf("series %s was never sent", key)
		}
		for i, s := range samples {
			if i > 0 && s.T <= samples[i-1].T {
				return fmt.Errorf("series %s: timestamp %d follows %d (duplicate or out of order)", key, s.T, samples[i-1].T)
			}
			want, ok := sent[s.T]
			if !ok {
				return fmt.Errorf("series %s: sample at %d was never sent", key, s.T)
			}
			if gone(key, s.T) {
				return fmt.Errorf("series %s: sample at %d is returned, but a delete or retention removed it", key, s.T)
			}
			v, err := strconv.ParseFloat(s.V, 64)
			if err != nil {
				return fmt.Errorf("series %s: value %q: %w", key, s.V, err)
			}
			if math.Float64bits(v) != math.Float64bits(want) {
				return fmt.Errorf("series %s at %d: value %v, sent %v", key, s.T, v, want)
			}
		}
	}
	missing, oldest, oldestKey := 0, int64(math.MaxInt64), ""
	for key, acked := range l.acked {
		have := map[int64]bool{}
		for _, s := range got[key] {
			have[s.T] = true
		}
		for ts := range acked {
			if !have[ts] && !gone(key, ts) {
				missing++
				if ts < oldest {
					oldest, oldestKey = ts, key
				}
			}
		}
	}
	if missing > 0 {
		return fmt.Errorf("%d acknowledged samples are missing (the oldest: %s at %d); %d batches acked, %d failed", missing, oldestKey, oldest, l.nAcked, l.nFailed)
	}
	return nil
}

// deletion is a delete_series request of the tests: some series of the
// ledger's metric over [mint, maxt], inclusive.
type deletion struct {
	selector   string
	keys       map[string]bool
	mint, maxt int64
}

func newDeletion(l *ledger, mint, maxt int64, series ...int) deletion {
	d := deletion{keys: map[string]bool{}, mint: mint, maxt: maxt}
	var alts []string
	for _, k := range series {
		d.keys[labelKey(l.seriesLabels(k))] = true
		alts = append(alts, strconv.Itoa(k))
	}
	d.selector = fmt.Sprintf(`%s{series=~"%s"}`, l.metric, strings.Join(alts, "|"))
	return d
}

func (d deletion) String() string { return fmt.Sprintf("%s [%d, %d]", d.selector, d.mint, d.maxt) }

func (d deletion) covers(key string, ts int64) bool {
	return d.keys[key] && d.mint <= ts && ts <= d.maxt
}

func (d deletion) form() url.Values {
	ts := func(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }
	return url.Values{"match[]": {d.selector}, "start": {ts(d.mint)}, "end": {ts(d.maxt)}}
}

// admin POSTs form to an admin API path. The error is that of a request the
// server never answered.
func (p *proc) admin(path string, form url.Values) (int, string, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.PostForm(p.url(path), form)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// The drives.

// writeUntilCrash writes until the point kills the server: the cuts,
// compactions and retention of the writing reach it.
func writeUntilCrash(c *blockCrash, p *proc) outcome {
	c.startWriter()
	c.awaitCrash(p, time.Minute)
	c.stopWriter()
	return outcome{}
}

// cleanUntilCrash writes on while it deletes two series from the newest
// block (acknowledged) and asks for clean_tombstones, until a clean reaches
// the point (a compaction may have dropped the tombstones before the clean
// came: then it tries again).
func cleanUntilCrash(c *blockCrash, p *proc) outcome {
	var out outcome
	c.startWriter()
	for deadline := time.Now().Add(time.Minute); ; {
		if time.Now().After(deadline) {
			c.t.Fatalf("no clean_tombstones reached %s within a minute", c.point)
		}
		bs := c.waitBlocks(p, 4)
		nb := bs[len(bs)-1]
		d := newDeletion(c.l, nb.MinTime, nb.MaxTime-1, 1, 3)
		code, body, err := p.admin("/api/v1/admin/tsdb/delete_series", d.form())
		if err != nil || code != http.StatusNoContent {
			c.t.Fatalf("delete_series %s: %d %q %v", d, code, body, err)
		}
		out.acked = append(out.acked, d)
		code, body, err = p.admin("/api/v1/admin/tsdb/clean_tombstones", nil)
		if err != nil {
			break // The crash.
		}
		if code != http.StatusNoContent {
			c.t.Fatalf("clean_tombstones: %d %q", code, body)
		}
	}
	c.awaitCrash(p, 10*time.Second)
	c.stopWriter()
	return out
}

// snapshotUntilCrash asks for a snapshot, with the head, of four blocks or
// more while the writer runs.
func snapshotUntilCrash(c *blockCrash, p *proc) outcome {
	c.startWriter()
	c.waitBlocks(p, 4)
	code, body, err := p.admin("/api/v1/admin/tsdb/snapshot", nil)
	if err == nil {
		c.t.Fatalf("snapshot answered %d %q without reaching %s", code, body, c.point)
	}
	c.awaitCrash(p, 10*time.Second)
	c.stopWriter()
	return outcome{}
}

// deleteUntilCrash stops writing once there are four blocks and deletes two
// series from the middle of the second block to the middle of the head;
// the crash comes after the blocks, before the head.
func deleteUntilCrash(c *blockCrash, p *proc) outcome {
	c.startWriter()
	c.waitBlocks(p, 4)
	c.stopWriter()
	bs := c.settledBlocks(p)
	hmin, err := p.headMinTime()
	if err != nil {
		c.t.Fatal(err)
	}
	next := c.l.nextTime()
	if hmin >= next {
		c.t.Fatalf("the head is empty: minTime %d, next sample %d", hmin, next)
	}
	d := newDeletion(c.l, bs[1].MinTime+crashBlockRange.Milliseconds()/2, hmin+(next-hmin)/2, 1, 3)
	code, body, err := p.admin("/api/v1/admin/tsdb/delete_series", d.form())
	if err == nil {
		c.t.Fatalf("delete_series %s answered %d %q without reaching %s", d, code, body, c.point)
	}
	c.awaitCrash(p, 10*time.Second)
	return outcome{pending: []deletion{d}, regions: bs}
}

// The states the points leave on disk.

func atCutWritten(t *testing.T, c *blockCrash, p *proc) {
	disk, err := diskBlocks(c.blocksDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(disk) != 1 {
		t.Fatalf("killed at the first cut, %d blocks on disk: %v", len(disk), disk)
	}
	if strings.Contains(p.logText(), "Head range written as a block") {
		t.Fatal("a cut finished before the kill")
	}
}

// compactionOnDisk returns a compacted block on disk and how many of its
// parents are still there.
func compactionOnDisk(t *testing.T, c *blockCrash) (blockMeta, int) {
	disk, err := diskBlocks(c.blocksDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range disk {
		if len(m.Compaction.Parents) == 0 {
			continue
		}
		n := 0
		for _, pa := range m.Compaction.Parents {
			if _, ok := disk[pa.ULID]; ok {
				n++
			}
		}
		return m, n
	}
	t.Fatalf("no compacted block on disk: %v", disk)
	return blockMeta{}, 0
}

func atCompactWritten(t *testing.T, c *blockCrash, _ *proc) {
	m, n := compactionOnDisk(t, c)
	if len(m.Compaction.Parents) < 2 || n != len(m.Compaction.Parents) {
		t.Fatalf("compacted block %s: %d of its %d parents on disk, want all", m, n, len(m.Compaction.Parents))
	}
}

func atCompactParentGone(t *testing.T, c *blockCrash, _ *proc) {
	m, n := compactionOnDisk(t, c)
	if len(m.Compaction.Parents) < 2 || n != len(m.Compaction.Parents)-1 {
		t.Fatalf("compacted block %s: %d of its %d parents on disk, want all but one", m, n, len(m.Compaction.Parents))
	}
}

func atRetentionRenamed(t *testing.T, c *blockCrash, p *proc) {
	tmp, err := tmpBlockDirs(c.data)
	if err != nil {
		t.Fatal(err)
	}
	if len(tmp) != 1 || !strings.HasSuffix(tmp[0], ".tmp-for-deletion") {
		t.Fatalf("temporary directories %v, want one being deleted", tmp)
	}
	if !strings.Contains(p.logText(), "Deleting block by retention") {
		t.Fatal("killed, but not while deleting a block by retention")
	}
}

func atParentRenamed(t *testing.T, c *blockCrash, p *proc) {
	tmp, err := tmpBlockDirs(c.data)
	if err != nil {
		t.Fatal(err)
	}
	if len(tmp) != 1 || !strings.HasSuffix(tmp[0], ".tmp-for-deletion") {
		t.Fatalf("temporary directories %v, want one being deleted", tmp)
	}
	m, n := compactionOnDisk(t, c)
	if len(m.Compaction.Parents) < 2 || n != len(m.Compaction.Parents)-1 {
		t.Fatalf("compacted block %s: %d of its %d parents on disk, want all but the one being deleted", m, n, len(m.Compaction.Parents))
	}
}

func atTombstonesRewritten(t *testing.T, c *blockCrash, _ *proc) {
	disk, err := diskBlocks(c.blocksDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range disk {
		if len(m.Compaction.Parents) != 1 {
			continue
		}
		if old, ok := disk[m.Compaction.Parents[0].ULID]; ok && old.MinTime == m.MinTime && old.MaxTime == m.MaxTime {
			if old.Stats.NumTombstones == 0 || m.Stats.NumTombstones != 0 {
				t.Fatalf("rewrite %s of %s: tombstones %d, then %d", m, old, old.Stats.NumTombstones, m.Stats.NumTombstones)
			}
			return
		}
	}
	t.Fatalf("no rewritten block beside its original on disk: %v", disk)
}

func atSnapshotPartial(t *testing.T, c *blockCrash, _ *proc) {
	snaps, err := filepath.Glob(filepath.Join(c.data, "snapshots", "*", "default", "blocks"))
	if err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots %v (%v), want one", snaps, err)
	}
	disk, err := diskBlocks(snaps[0])
	if err != nil || len(disk) != 1 {
		t.Fatalf("partial snapshot holds %v (%v), want one block", disk, err)
	}
}

func atDeleteBlocksDone(t *testing.T, c *blockCrash, _ *proc) {
	disk, err := diskBlocks(c.blocksDir())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range disk {
		if m.Stats.NumTombstones > 0 {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no block on disk has tombstones: %v", disk)
	}
}

// The requests after the restart.

// snapshotAgain takes a snapshot (acknowledged, so complete) while the
// writer runs, and serves it with a second server: every sample
// acknowledged before the request must be there, once, nothing unsent may
// be, and its blocks must not overlap.
func snapshotAgain(c *blockCrash, p *proc, out *outcome) *proc {
	c.startWriter()
	for n := c.l.acks(); c.l.acks() < n+50; {
		time.Sleep(5 * time.Millisecond)
	}
	before := c.l.ackedCopy()
	code, body, err := p.admin("/api/v1/admin/tsdb/snapshot", nil)
	c.stopWriter()
	if err != nil || code != http.StatusOK {
		c.t.Fatalf("snapshot: %d %q %v", code, body, err)
	}
	var r struct {
		Data struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Data.Name == "" {
		c.t.Fatalf("snapshot answer %q: %v", body, err)
	}
	// The ledger as the snapshot should hold it: everything sent may be
	// there, what was acknowledged before the request must.
	l := &ledger{metric: c.l.metric, series: c.l.series, nextT: c.l.nextTime(), sent: c.l.sent, acked: before}
	snap := &blockCrash{
		t: c.t, point: c.point, dir: c.t.TempDir(), data: filepath.Join(c.data, "snapshots", r.Data.Name),
		addr: freeAddr(c.t), l: l,
	}
	snap.args = serverArgs(filepath.Join(c.dir, "prometheus.yml"), snap.data, snap.addr)
	sp := snap.start()
	snap.mustVerify(sp, out, "serving the snapshot "+r.Data.Name)
	sp.kill()
	return p
}

// ackedCopy returns a copy of the acknowledged samples.
func (l *ledger) ackedCopy() map[string]map[int64]float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]map[int64]float64, len(l.acked))
	for key, m := range l.acked {
		out[key] = maps.Clone(m)
	}
	return out
}

// deleteAgain sends the delete the crash cut short again; acknowledged this
// time, it must be applied everywhere, also after a SIGKILL right after the
// answer (the head's part is then only in the WAL's tombstones record).
func deleteAgain(c *blockCrash, p *proc, out *outcome) *proc {
	for _, d := range out.pending {
		code, body, err := p.admin("/api/v1/admin/tsdb/delete_series", d.form())
		if err != nil || code != http.StatusNoContent {
			c.t.Fatalf("delete_series %s: %d %q %v", d, code, body, err)
		}
		out.acked = append(out.acked, d)
	}
	out.pending, out.regions = nil, nil
	c.mustVerify(p, out, "after the delete again")
	p.kill()
	p = c.start()
	c.mustVerify(p, out, "after the delete again and a SIGKILL")
	return p
}
