package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The helpers of the tests that look at blocks: what /api/v1/status/tsdb/blocks,
// /api/v1/status/tsdb and /metrics say, what lies in the data directory, and
// how many samples of the ledgers a block may hold.

// blockMeta is the part of a block's meta (on /api/v1/status/tsdb/blocks and
// in meta.json) that the tests read.
type blockMeta struct {
	ULID    string `json:"ulid"`
	MinTime int64  `json:"minTime"`
	MaxTime int64  `json:"maxTime"`
	Stats   struct {
		NumSamples    uint64 `json:"numSamples"`
		NumTombstones uint64 `json:"numTombstones"`
	} `json:"stats"`
	Compaction struct {
		Level   int `json:"level"`
		Parents []struct {
			ULID string `json:"ulid"`
		} `json:"parents"`
	} `json:"compaction"`
	Tier string `json:"tier"` // "parquet" for a block held only in the bucket
}

func (b blockMeta) String() string {
	return fmt.Sprintf("%s[%d,%d) L%d %d samples", b.ULID, b.MinTime, b.MaxTime, b.Compaction.Level, b.Stats.NumSamples)
}

// getData GETs an API path and decodes the envelope's data into v.
func (p *proc) getData(path string, v any) error {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(p.url(path))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("GET %s: status %d, body %q: %w", path, resp.StatusCode, body, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s", path, r.ErrorType, r.Error)
	}
	return json.Unmarshal(r.Data, v)
}

// blocks returns the default tenant's blocks, sorted by MinTime.
func (p *proc) blocks() ([]blockMeta, error) {
	var d struct {
		Blocks []blockMeta `json:"blocks"`
	}
	if err := p.getData("/api/v1/status/tsdb/blocks", &d); err != nil {
		return nil, err
	}
	slices.SortFunc(d.Blocks, func(a, b blockMeta) int { return cmp.Compare(a.MinTime, b.MinTime) })
	return d.Blocks, nil
}

// headMinTime returns the head's headStats.minTime (math.MaxInt64 when empty).
func (p *proc) headMinTime() (int64, error) {
	var d struct {
		HeadStats struct {
			MinTime int64 `json:"minTime"`
		} `json:"headStats"`
	}
	if err := p.getData("/api/v1/status/tsdb", &d); err != nil {
		return 0, err
	}
	return d.HeadStats.MinTime, nil
}

// metrics reads the unlabelled samples named in names from /metrics (the
// default tenant's series carry no tenant label).
func (p *proc) metrics(names ...string) (map[string]float64, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(p.url("/metrics"))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || !slices.Contains(names, name) {
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("/metrics: %s: %w", sc.Text(), err)
		}
		out[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("/metrics has no %s", n)
		}
	}
	return out, nil
}

// errOverlap is checkBlocks' answer for blocks whose ranges overlap: a
// state a maintenance round may still resolve (by compacting them).
var errOverlap = errors.New("blocks overlap")

// checkBlocks checks the server's blocks against the ledgers: their ranges
// do not overlap (errOverlap), each holds at least the acknowledged samples
// of its range that gone does not remove and at most the samples sent in it
// (a sample stored twice, as by a compaction whose parents came back, breaks
// the upper bound even though queries merge the copies away), and the head
// holds nothing older than the newest block's end (the head's copy of a cut
// range must not come back either). gone may be nil.
func checkBlocks(p *proc, ledgers []*ledger, gone func(key string, ts int64) bool) ([]blockMeta, error) {
	bs, err := p.blocks()
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(bs); i++ {
		if bs[i].MinTime < bs[i-1].MaxTime {
			return bs, fmt.Errorf("%w: %s and %s", errOverlap, bs[i-1], bs[i])
		}
	}
	idx := make([]ledgerIndex, len(ledgers))
	for i, l := range ledgers {
		idx[i] = l.index(gone)
	}
	for _, b := range bs {
		lo, hi := 0, 0
		for _, x := range idx {
			l, h := x.bounds(b.MinTime, b.MaxTime)
			lo, hi = lo+l, hi+h
		}
		if n := int(b.Stats.NumSamples); n < lo || n > hi {
			return bs, fmt.Errorf("block %s holds %d samples; the ledgers put between %d (acknowledged) and %d (sent) in its range", b, n, lo, hi)
		}
	}
	if len(bs) == 0 {
		return bs, nil
	}
	// A cut makes its block visible a moment before it drops the head's
	// copy: wait that moment out.
	end := bs[len(bs)-1].MaxTime
	deadline := time.Now().Add(3 * time.Second)
	for {
		hmin, err := p.headMinTime()
		if err != nil {
			return bs, err
		}
		if hmin >= end {
			return bs, nil
		}
		if time.Now().After(deadline) {
			return bs, fmt.Errorf("the head starts at %d, before the end of the newest block %s", hmin, bs[len(bs)-1])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ledgerIndex holds a ledger's acknowledged (minus those a delete removed)
// and sent samples as sorted timestamps, one per series and timestamp, to
// count those of a block's range.
type ledgerIndex struct{ acked, sent []int64 }

func (l *ledger) index(gone func(key string, ts int64) bool) ledgerIndex {
	l.mu.Lock()
	defer l.mu.Unlock()
	var x ledgerIndex
	for key, m := range l.acked {
		for ts := range m {
			if gone == nil || !gone(key, ts) {
				x.acked = append(x.acked, ts)
			}
		}
	}
	for _, m := range l.sent {
		for ts := range m {
			x.sent = append(x.sent, ts)
		}
	}
	slices.Sort(x.acked)
	slices.Sort(x.sent)
	return x
}

// bounds counts the indexed samples in [mint, maxt).
func (x ledgerIndex) bounds(mint, maxt int64) (acked, sent int) {
	count := func(ts []int64) int {
		i, _ := slices.BinarySearch(ts, mint)
		j, _ := slices.BinarySearch(ts, maxt)
		return j - i
	}
	return count(x.acked), count(x.sent)
}

// tmpBlockDirs returns the block directories under root that a writer or a
// deleter had not finished: *.tmp-for-creation and *.tmp-for-deletion.
func tmpBlockDirs(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // Removed while walking.
				return nil
			}
			return err
		}
		if d.IsDir() && (strings.HasSuffix(d.Name(), ".tmp-for-creation") || strings.HasSuffix(d.Name(), ".tmp-for-deletion")) {
			out = append(out, path)
			return fs.SkipDir
		}
		return nil
	})
	return out, err
}

// leftoversGone checks that none of the directories tmpBlockDirs found
// (after a kill) is still there (after the restart's open).
func leftoversGone(dirs []string) error {
	var errs []error
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%s survived the restart (stat: %v)", d, err))
		}
	}
	return errors.Join(errs...)
}

// diskBlocks reads the meta.json of every block directory in dir (a
// tenant's blocks/), keyed by ULID; temporary directories are left out.
func diskBlocks(dir string) (map[string]blockMeta, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]blockMeta{}
	for _, e := range entries {
		if !e.IsDir() || strings.Contains(e.Name(), ".") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name(), "meta.json"))
		if err != nil {
			return nil, err
		}
		var m blockMeta
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out[e.Name()] = m
	}
	return out, nil
}
