package compaction

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunks"
)

// The tests in this file compare our decisions with Prometheus v0.316's own
// code on random inputs.

const hour = int64(3600 * 1000)

func TestExponentialRangesMatchUpstream(t *testing.T) {
	for _, minSize := range []int64{1, 1000, 2 * hour, 3 * hour, 7 * 24 * hour} {
		for steps := 0; steps <= 12; steps++ {
			for stepSize := 1; stepSize <= 5; stepSize++ {
				got := ExponentialRanges(minSize, steps, stepSize)
				want := tsdb.ExponentialBlockRanges(minSize, steps, stepSize)
				if !slices.Equal(got, want) {
					t.Errorf("ExponentialRanges(%d, %d, %d) = %v, upstream %v", minSize, steps, stepSize, got, want)
				}
			}
		}
	}
}

// upstreamRanges derives the ranges as cmd/prometheus (max-block default)
// and tsdb.validateOpts/open (min default, max raised to min, the cut) do,
// around the real tsdb.ExponentialBlockRanges.
func upstreamRanges(minBlock, maxBlock, retention int64) []int64 {
	if maxBlock == 0 { // cmd/prometheus
		maxBlock = 31 * 24 * hour
		if retention < 0 {
			retention = 100 * 365 * 24 * hour
		}
		if retention != 0 && retention/10 < maxBlock {
			maxBlock = retention / 10
		}
	}
	if minBlock <= 0 { // tsdb.validateOpts
		minBlock = tsdb.DefaultBlockDuration
	}
	if minBlock > maxBlock {
		maxBlock = minBlock
	}
	rngs := tsdb.ExponentialBlockRanges(minBlock, 10, 3)
	for i, v := range rngs { // tsdb.open
		if v > maxBlock {
			rngs = rngs[:i]
			break
		}
	}
	return rngs
}

func TestRangesMatchUpstream(t *testing.T) {
	durations := []int64{-hour, 0, 1, hour, 2 * hour, 5 * hour, 6 * hour, 18 * hour, 36 * hour,
		54 * hour, 24 * 24 * hour, 31 * 24 * hour, 40 * 24 * hour, 1000 * 24 * hour}
	retentions := append([]int64{15 * 24 * hour, 90 * 24 * hour, 310 * 24 * hour, 311 * 24 * hour,
		365 * 24 * hour, 100 * 365 * 24 * hour}, durations...)
	for _, minB := range durations {
		for _, maxB := range durations {
			for _, ret := range retentions {
				got := Ranges(minB, maxB, ret)
				want := upstreamRanges(minB, maxB, ret)
				if !slices.Equal(got, want) {
					t.Errorf("Ranges(%d, %d, %d) = %v, upstream %v", minB, maxB, ret, got, want)
				}
				if len(got) == 0 {
					t.Errorf("Ranges(%d, %d, %d) is empty", minB, maxB, ret)
				}
			}
		}
	}
}

// randomRanges picks a range configuration as Prometheus could run with.
func randomRanges(r *rand.Rand) []int64 {
	switch r.IntN(6) {
	case 0:
		return []int64{2 * hour}
	case 1:
		return []int64{2 * hour, 6 * hour}
	case 2:
		return tsdb.ExponentialBlockRanges(2*hour, 10, 3)
	case 3:
		return Ranges(hour, 0, 0)
	default:
		return Ranges(2*hour, 0, 15*24*hour) // Prometheus's defaults: 2h, 6h, 18h
	}
}

// randomBlocks builds a block set: mostly 2h blocks on the grid with gaps,
// some already merged to aligned larger blocks, some misaligned, some
// overlapping, some failed, tombstoned or carrying hints; times sometimes
// negative; ULIDs in random order relative to time.
func randomBlocks(r *rand.Rand, entropy io.Reader) []Block {
	n := 1 + r.IntN(20)
	base := int64(r.IntN(5)-2) * 6 * hour
	var blocks []Block
	t := base
	for len(blocks) < n {
		var b Block
		switch k := r.IntN(20); {
		case k < 2: // gap
			t += 2 * hour * int64(1+r.IntN(3))
			continue
		case k < 4: // a merged block, aligned when it fits
			span := []int64{6 * hour, 18 * hour}[r.IntN(2)]
			start := floorDiv(t, span) * span
			if start < t {
				start += span
			}
			b = Block{MinTime: start, MaxTime: start + span, Level: 2 + r.IntN(2)}
			t = b.MaxTime
		case k < 5: // misaligned
			b = Block{MinTime: t + hour, MaxTime: t + hour + 2*hour*int64(1+r.IntN(3)), Level: 2}
			t = b.MaxTime
		case k < 7 && len(blocks) > 0: // overlapping an earlier block
			o := blocks[r.IntN(len(blocks))]
			mint := o.MinTime + r.Int64N(o.MaxTime-o.MinTime+hour) - hour/2
			if r.IntN(2) == 0 {
				mint = floorDiv(mint, hour) * hour // on the grid: ties in MinTime
			}
			b = Block{MinTime: mint, MaxTime: mint + hour*int64(1+r.IntN(4)), Level: 1}
		case k < 8 && len(blocks) > 0: // the same range as an earlier block
			o := blocks[r.IntN(len(blocks))]
			b = Block{MinTime: o.MinTime, MaxTime: o.MaxTime, Level: o.Level}
		default:
			b = Block{MinTime: t, MaxTime: t + 2*hour, Level: 1}
			t = b.MaxTime
		}
		b.NumSeries = uint64(r.IntN(200))
		switch r.IntN(4) {
		case 0:
			b.NumTombstones = uint64(r.IntN(int(b.NumSeries) + 2))
		case 1:
			b.NumTombstones = b.NumSeries / 20 // around the 5% threshold
		case 2:
			b.NumSeries = uint64(20*(1+r.IntN(10)) - 1)
			b.NumTombstones = (b.NumSeries + 1) / 20 // exactly 5%
		}
		b.Failed = r.IntN(12) == 0
		switch r.IntN(15) {
		case 0:
			b.Hints = []string{HintFromStaleSeries}
		case 1:
			b.Hints = []string{HintFromSelectedSeries}
		case 2:
			b.Hints = []string{"from-out-of-order"}
		}
		b.Size = 1 + r.Int64N(1000)
		b.ID = ulid.MustNew(uint64(r.IntN(1<<20)), entropy)
		blocks = append(blocks, b)
	}
	return blocks
}

// entropyFor is a deterministic ULID entropy source.
func entropyFor(seed uint64, stream byte) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	key[8] = stream
	return rand.NewChaCha8(key)
}

func writeMeta(t *testing.T, dir string, b Block) {
	t.Helper()
	meta := tsdb.BlockMeta{
		ULID: b.ID, MinTime: b.MinTime, MaxTime: b.MaxTime, Version: 1,
		Stats: tsdb.BlockStats{NumSeries: b.NumSeries, NumTombstones: b.NumTombstones},
		Compaction: tsdb.BlockMetaCompaction{
			Level: b.Level, Sources: []ulid.ULID{b.ID}, Failed: b.Failed, Hints: b.Hints,
		},
	}
	data, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	bdir := filepath.Join(dir, b.ID.String())
	if err := os.MkdirAll(bdir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bdir, "meta.json"), data, 0o666); err != nil {
		t.Fatal(err)
	}
}

func describe(blocks []Block) string {
	var sb strings.Builder
	for _, b := range blocks {
		fmt.Fprintf(&sb, "  %s %s-%s level=%d series=%d tombstones=%d failed=%v hints=%v\n", b.ID,
			formatTime(b.MinTime), formatTime(b.MaxTime), b.Level, b.NumSeries, b.NumTombstones, b.Failed, b.Hints)
	}
	return sb.String()
}

// TestPlanMatchesUpstream runs random block sets through Plan and through
// tsdb.LeveledCompactor.Plan on directories holding only their meta.json,
// then applies the chosen compaction (one merged block replaces the group)
// and compares again, until there is nothing to do.
func TestPlanMatchesUpstream(t *testing.T) {
	for _, overlap := range []bool{true, false} {
		t.Run(fmt.Sprintf("overlapping=%v", overlap), func(t *testing.T) { testPlanMatchesUpstream(t, overlap) })
	}
}

func testPlanMatchesUpstream(t *testing.T, overlap bool) {
	iterations := 200
	if testing.Short() {
		iterations = 30
	}
	var steps, compactions int
	for seed := range uint64(iterations) {
		r := rand.New(rand.NewPCG(seed, 0x636f6d70))
		entropy := entropyFor(seed, 1)
		ranges := randomRanges(r)
		blocks := randomBlocks(r, entropy)
		dir := t.TempDir()
		for _, b := range blocks {
			writeMeta(t, dir, b)
		}
		c, err := tsdb.NewLeveledCompactorWithOptions(context.Background(), nil, nil, ranges, nil,
			tsdb.LeveledCompactorOptions{EnableOverlappingCompaction: overlap})
		if err != nil {
			t.Fatal(err)
		}
		for step := 0; step < 30; step++ {
			steps++
			dirs, err := c.Plan(dir)
			if err != nil {
				t.Fatal(err)
			}
			var want []ulid.ULID
			for _, d := range dirs {
				want = append(want, ulid.MustParseStrict(filepath.Base(d)))
			}
			got := PlanWithOptions(blocks, ranges, PlanOptions{NoOverlapping: !overlap})
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d step %d ranges %v:\n%sPlan = %v\nupstream %v", seed, step, ranges, describe(blocks), got, want)
			}
			if len(got) == 0 {
				break
			}
			compactions++
			blocks = applyCompaction(t, dir, blocks, got, entropy)
		}
	}
	t.Logf("%d plans compared, %d compactions applied", steps, compactions)
}

// applyCompaction replaces the blocks of group by one block covering them,
// as a compaction would (a rewrite of one block drops its tombstones).
func applyCompaction(t *testing.T, dir string, blocks []Block, group []ulid.ULID, entropy io.Reader) []Block {
	t.Helper()
	var merged Block
	var rest []Block
	first := true
	for _, b := range blocks {
		if !slices.Contains(group, b.ID) {
			rest = append(rest, b)
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, b.ID.String())); err != nil {
			t.Fatal(err)
		}
		if first {
			merged, first = Block{MinTime: b.MinTime, MaxTime: b.MaxTime, Level: b.Level, Hints: b.Hints}, false
		}
		merged.MinTime = min(merged.MinTime, b.MinTime)
		merged.MaxTime = max(merged.MaxTime, b.MaxTime)
		merged.Level = max(merged.Level, b.Level)
		merged.NumSeries += b.NumSeries
	}
	merged.Level++
	merged.ID = ulid.MustNew(uint64(1<<20)+uint64(len(rest)), entropy)
	writeMeta(t, dir, merged)
	return append(rest, merged)
}

// TestExpiredMatchesUpstream opens real blocks (copies of a few small blocks
// made with tsdb.CreateBlock, each given its own ULID and time range) and
// compares Expired with tsdb.DefaultBlocksToDelete of a DB opened with the
// same retention, and the reasons with tsdb.BeyondTimeRetention.
func TestExpiredMatchesUpstream(t *testing.T) {
	iterations := 60
	if testing.Short() {
		iterations = 10
	}
	templates := makeTemplateBlocks(t)
	for seed := range uint64(iterations) {
		r := rand.New(rand.NewPCG(seed, 0x72657465))
		entropy := entropyFor(seed, 2)
		blocksDir := t.TempDir()
		n := 1 + r.IntN(20)
		var upstream []*tsdb.Block
		for range n {
			mint := int64(r.IntN(40)) * hour
			maxt := mint + int64(1+r.IntN(3))*2*hour
			id := ulid.MustNew(uint64(r.IntN(1<<20)), entropy)
			bdir := filepath.Join(blocksDir, id.String())
			copyBlock(t, templates[r.IntN(len(templates))], bdir, id, mint, maxt)
		}
		entries, err := os.ReadDir(blocksDir) // name order, as Prometheus lists blocks
		if err != nil {
			t.Fatal(err)
		}
		var blocks []Block
		for _, e := range entries {
			pb, err := tsdb.OpenBlock(nil, filepath.Join(blocksDir, e.Name()), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			upstream = append(upstream, pb)
			m := pb.Meta()
			blocks = append(blocks, Block{ID: m.ULID, MinTime: m.MinTime, MaxTime: m.MaxTime, Size: pb.Size()})
		}
		var total int64
		for _, b := range blocks {
			total += b.Size
		}
		opts := tsdb.DefaultOptions()
		opts.RetentionDuration = []int64{0, hour, 4 * hour, 10 * hour, int64(r.IntN(60)) * hour}[r.IntN(5)]
		opts.MaxBytes = []int64{0, 1, total / 2, total - 1, total, r.Int64N(total + 1)}[r.IntN(6)]
		db, err := tsdb.Open(t.TempDir(), nil, nil, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		extra := db.Head().Size()

		// Unsorted input on our side.
		shuffled := slices.Clone(blocks)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got := Expired(shuffled, opts.RetentionDuration, opts.MaxBytes, extra)

		deletable := tsdb.DefaultBlocksToDelete(db)(upstream) // sorts upstream newest first
		byTime := tsdb.BeyondTimeRetention(db, upstream)
		var want []Expiry
		for _, pb := range slices.Backward(upstream) {
			id := pb.Meta().ULID
			if _, ok := deletable[id]; !ok {
				continue
			}
			reason := ReasonSize
			if _, ok := byTime[id]; ok {
				reason = ReasonTime
			}
			want = append(want, Expiry{ID: id, Reason: reason})
		}
		if !slices.Equal(got, want) {
			t.Errorf("seed %d retention %s maxBytes %d extra %d:\n%sExpired = %v\nupstream %v",
				seed, formatTime(opts.RetentionDuration), opts.MaxBytes, extra, describeSizes(blocks), got, want)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		for _, pb := range upstream {
			if err := pb.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func describeSizes(blocks []Block) string {
	var sb strings.Builder
	for _, b := range blocks {
		fmt.Fprintf(&sb, "  %s %s-%s size=%d\n", b.ID, formatTime(b.MinTime), formatTime(b.MaxTime), b.Size)
	}
	return sb.String()
}

// makeTemplateBlocks writes a few real blocks of different sizes.
func makeTemplateBlocks(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	var res []string
	for _, numSeries := range []int{1, 3, 9, 27} {
		var series []storage.Series
		for i := range numSeries {
			series = append(series, storage.NewListSeries(
				labels.FromStrings("__name__", "m", "i", fmt.Sprint(i)), chunks.GenerateSamples(0, 10+i)))
		}
		bdir, err := tsdb.CreateBlock(series, dir, 0, promslog.NewNopLogger())
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, bdir)
	}
	return res
}

// copyBlock copies the block in src to dst, giving it id and [mint, maxt).
func copyBlock(t *testing.T, src, dst string, id ulid.ULID, mint, maxt int64) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o777)
		}
		if rel == "meta.json" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o666)
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(src, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta tsdb.BlockMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	meta.ULID, meta.MinTime, meta.MaxTime = id, mint, maxt
	meta.Compaction.Sources = []ulid.ULID{id}
	if data, err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "meta.json"), data, 0o666); err != nil {
		t.Fatal(err)
	}
}
