package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// blockInfo is what the driver reads of one persisted block's meta.json.
type blockInfo struct {
	ULID    string
	MinTime int64
	MaxTime int64
	Level   int
	Samples uint64
}

// blockScanner lists the blocks of a data directory, black-box: Prometheus
// keeps them at <data>/<ULID>/, mytsdb at <data>/<tenant>/blocks/<ULID>/;
// both write a block as <ULID>.tmp-for-creation and rename it when complete,
// so a tmp directory means a head cut or a compaction is running.
type blockScanner struct {
	dataDir string
	metas   map[string]blockInfo // by block directory path
}

func newBlockScanner(dataDir string) *blockScanner {
	return &blockScanner{dataDir: dataDir, metas: map[string]blockInfo{}}
}

const tmpBlockSuffix = ".tmp-for-creation"

// isULID reports whether s is a text ULID (26 Crockford base32 digits).
func isULID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}

// scan returns the complete blocks (meta.json readable) and the number of
// blocks being written. Blocks are read once and cached.
func (s *blockScanner) scan() (blocks []blockInfo, writing int, err error) {
	top, err := os.ReadDir(s.dataDir)
	if err != nil {
		return nil, 0, err
	}
	dirs := []string{s.dataDir}
	for _, e := range top {
		if e.IsDir() && !isULID(e.Name()) && e.Name() != "snapshots" && !strings.HasSuffix(e.Name(), tmpBlockSuffix) {
			if st, err := os.Stat(filepath.Join(s.dataDir, e.Name(), "blocks")); err == nil && st.IsDir() {
				dirs = append(dirs, filepath.Join(s.dataDir, e.Name(), "blocks"))
			}
		}
	}
	for k, d := range dirs {
		entries := top
		if k > 0 {
			if entries, err = os.ReadDir(d); err != nil {
				continue // a tenant removed meanwhile
			}
		}
		for _, e := range entries {
			name := e.Name()
			switch {
			case !e.IsDir():
			case strings.HasSuffix(name, tmpBlockSuffix):
				writing++
			case isULID(name):
				path := filepath.Join(d, name)
				b, ok := s.metas[path]
				if !ok {
					if b, err = readBlockMeta(path); err != nil {
						continue // not complete yet, or being deleted
					}
					s.metas[path] = b
				}
				blocks = append(blocks, b)
			}
		}
	}
	return blocks, writing, nil
}

func readBlockMeta(dir string) (blockInfo, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return blockInfo{}, err
	}
	var m struct {
		ULID    string `json:"ulid"`
		MinTime int64  `json:"minTime"`
		MaxTime int64  `json:"maxTime"`
		Stats   struct {
			NumSamples uint64 `json:"numSamples"`
		} `json:"stats"`
		Compaction struct {
			Level int `json:"level"`
		} `json:"compaction"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return blockInfo{}, fmt.Errorf("bench: %s/meta.json: %w", dir, err)
	}
	return blockInfo{ULID: m.ULID, MinTime: m.MinTime, MaxTime: m.MaxTime, Level: m.Compaction.Level, Samples: m.Stats.NumSamples}, nil
}

// layout describes a list of blocks: "9 blocks (levels 1:6 2:3), 24.5h".
func layout(blocks []blockInfo) string {
	if len(blocks) == 0 {
		return "no blocks"
	}
	levels := map[int]int{}
	maxLevel := 0
	mint, maxt := blocks[0].MinTime, blocks[0].MaxTime
	for _, b := range blocks {
		levels[b.Level]++
		maxLevel = max(maxLevel, b.Level)
		mint, maxt = min(mint, b.MinTime), max(maxt, b.MaxTime)
	}
	var parts []string
	for l := 1; l <= maxLevel; l++ {
		if levels[l] > 0 {
			parts = append(parts, fmt.Sprintf("L%d×%d", l, levels[l]))
		}
	}
	return fmt.Sprintf("%d blocks (%s) over %s", len(blocks), strings.Join(parts, " "), shortDur((time.Duration(maxt-mint) * time.Millisecond).Round(time.Second)))
}

// tick is one sample of a running server.
type tick struct {
	at      time.Time
	samples int64 // acknowledged by then (the load's progress counter)
	rss     int64 // VmRSS, bytes
	anon    int64 // RssAnon, bytes: VmRSS without the file pages (mapped blocks, binary)
	writing bool  // a block was being written (cut or compaction)
	cuts    int   // level-1 blocks seen so far (head cuts)
	blocks  int   // complete blocks present
}

// sampler records ticks of a server every interval until stopped.
type sampler struct {
	pid      int
	scanner  *blockScanner
	progress *atomic.Int64
	interval time.Duration

	mu      sync.Mutex
	ticks   []tick
	level1  map[string]bool
	lastErr error
	stopc   chan struct{}
	done    chan struct{}
}

func startSampler(pid int, dataDir string, progress *atomic.Int64, interval time.Duration) *sampler {
	s := &sampler{pid: pid, scanner: newBlockScanner(dataDir), progress: progress, interval: interval,
		level1: map[string]bool{}, stopc: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *sampler) loop() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.sample()
		select {
		case <-s.stopc:
			return
		case <-t.C:
		}
	}
}

func (s *sampler) sample() {
	tk := tick{at: time.Now(), samples: s.progress.Load()}
	rss, err := statusField(s.pid, "VmRSS:")
	anon, _ := statusField(s.pid, "RssAnon:")
	blocks, writing, serr := s.scanner.scan()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.lastErr = err
		return
	}
	if serr != nil {
		s.lastErr = serr
	}
	for _, b := range blocks {
		if b.Level == 1 {
			s.level1[b.ULID] = true
		}
	}
	tk.rss, tk.anon, tk.writing, tk.cuts, tk.blocks = rss, anon, writing > 0, len(s.level1), len(blocks)
	s.ticks = append(s.ticks, tk)
}

// cuts is the number of head cuts seen so far.
func (s *sampler) cuts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.level1)
}

// idle reports whether no block has been written for d (and none is being written).
func (s *sampler) idle(d time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.ticks)
	if n == 0 {
		return false
	}
	last := s.ticks[n-1]
	for i := n - 1; i >= 0 && last.at.Sub(s.ticks[i].at) <= d; i-- {
		t := s.ticks[i]
		if t.writing || t.blocks != last.blocks {
			return false
		}
		if last.at.Sub(t.at) >= d-s.interval {
			return true
		}
	}
	return false
}

// stop ends the sampling and returns the ticks.
func (s *sampler) stop() []tick {
	close(s.stopc)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ticks
}

// waitIdle waits until s saw no block written for quiet, or timeout.
func waitIdle(ctx context.Context, s *sampler, quiet, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if s.idle(quiet) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// dirBytes sums the sizes of the regular files under dir (a snapshot's
// blocks are hard links of the data directory's: each counts fully).
func dirBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}

// snapshot asks the server for an admin snapshot with the head and returns
// its directory under dataDir/snapshots.
func snapshot(ctx context.Context, base, dataDir string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/admin/tsdb/snapshot", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("snapshot: HTTP %d: %.200s", resp.StatusCode, body)
	}
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" || r.Data.Name == "" {
		return "", fmt.Errorf("snapshot: unexpected answer %.200s", body)
	}
	return filepath.Join(dataDir, "snapshots", r.Data.Name), nil
}
