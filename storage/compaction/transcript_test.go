package compaction

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
)

// The transcripts in testdata/*.txt are pebble-datadriven-style sessions
// read with the standard library only. A case is
//
//	<command> [key=value ...]
//	<input lines>
//	----
//	<expected output lines>
//
// ended by a blank line; lines starting with '#' between cases are comments.
// The expected output is written by hand from Prometheus's rules; there is no
// rewrite mode.
//
// Commands:
//
//	plan ranges=2h,6h,18h      blocks as input; output "compact b1 b2 ..." or "nothing"
//	expired retention=15d maxbytes=100 extra=10
//	                           blocks as input; output "<block> time|size" oldest first, or "nothing"
//	ranges min=2h max=0 retention=15d
//	                           no input; output the ranges
//	exponential min=2h steps=4 step=3
//	                           no input; output the ranges
//
// A block line is
//
//	<name> <mint>-<maxt> [level=N] [size=N] [series=N] [tombstones=N] [failed] [hint=H] [ulid=N]
//
// Times are integers in ms, or with a unit: ms, s, m, h, d (e.g. 2h, -1d,
// 90m). Names take ULIDs in the order their lines are listed (the first line
// the smallest), so listing order is the ULID order that breaks ties, unless
// ulid=N sets the ULID's number explicitly.

type transcriptCase struct {
	pos    string // file:line of the command
	cmd    string
	args   map[string]string
	input  []string
	inLine int // line number of the first input line
	want   string
	hasSep bool
}

func readTranscript(t *testing.T, path string) []transcriptCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		cases []transcriptCase
		cur   *transcriptCase
		out   []string
		state int // 0: between cases, 1: input, 2: output
		line  int
	)
	flush := func() {
		if cur == nil {
			return
		}
		if !cur.hasSep {
			t.Fatalf("%s: case has no ---- line", cur.pos)
		}
		cur.want = strings.Join(out, "\n")
		cases = append(cases, *cur)
		cur, out, state = nil, nil, 0
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), " \t")
		switch state {
		case 0:
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			fields := strings.Fields(text)
			cur = &transcriptCase{
				pos:    fmt.Sprintf("%s:%d", filepath.Base(path), line),
				cmd:    fields[0],
				args:   map[string]string{},
				inLine: line + 1,
			}
			for _, kv := range fields[1:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("%s: argument %q is not key=value", cur.pos, kv)
				}
				cur.args[k] = v
			}
			state = 1
		case 1:
			if text == "----" {
				cur.hasSep = true
				state = 2
				continue
			}
			if text == "" {
				t.Fatalf("%s: blank line before ----", cur.pos)
			}
			cur.input = append(cur.input, text)
		case 2:
			if text == "" {
				flush()
				continue
			}
			out = append(out, text)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	return cases
}

var timeUnits = []struct {
	suffix string
	ms     int64
}{{"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 24 * 3600 * 1000}}

func parseTime(s string) (int64, error) {
	for _, u := range timeUnits {
		// "ms" comes first, so that "5ms" is not read as "5m" + "s".
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				continue
			}
			return n * u.ms, nil
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// formatTime prints ms in the largest of h, m, s, ms that divides them.
func formatTime(ms int64) string {
	for _, u := range []struct {
		suffix string
		ms     int64
	}{{"h", 3600 * 1000}, {"m", 60 * 1000}, {"s", 1000}} {
		if ms != 0 && ms%u.ms == 0 {
			return strconv.FormatInt(ms/u.ms, 10) + u.suffix
		}
	}
	return strconv.FormatInt(ms, 10) + "ms"
}

// parseBlocks parses block lines; names maps each ULID back to its name.
func parseBlocks(c transcriptCase) ([]Block, map[ulid.ULID]string, error) {
	var blocks []Block
	names := map[ulid.ULID]string{}
	for i, l := range c.input {
		where := fmt.Sprintf("line %d", c.inLine+i)
		fields := strings.Fields(l)
		if len(fields) < 2 {
			return nil, nil, fmt.Errorf("%s: want <name> <mint>-<maxt> ...", where)
		}
		// The separator is the first '-' after the first character, so
		// that "-2h--1h" is [-2h, -1h).
		sep := strings.Index(fields[1][1:], "-")
		if sep < 0 {
			return nil, nil, fmt.Errorf("%s: time range %q is not <mint>-<maxt>", where, fields[1])
		}
		sep++
		mint, err := parseTime(fields[1][:sep])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", where, err)
		}
		maxt, err := parseTime(fields[1][sep+1:])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", where, err)
		}
		b := Block{MinTime: mint, MaxTime: maxt}
		num := uint64(i + 1)
		for _, f := range fields[2:] {
			if f == "failed" {
				b.Failed = true
				continue
			}
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return nil, nil, fmt.Errorf("%s: unknown attribute %q", where, f)
			}
			if k == "hint" {
				b.Hints = append(b.Hints, v)
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %s: %v", where, k, err)
			}
			switch k {
			case "level":
				b.Level = int(n)
			case "size":
				b.Size = int64(n)
			case "series":
				b.NumSeries = n
			case "tombstones":
				b.NumTombstones = n
			case "ulid":
				num = n
			default:
				return nil, nil, fmt.Errorf("%s: unknown attribute %q", where, k)
			}
		}
		b.ID = testULID(num)
		if _, dup := names[b.ID]; dup {
			return nil, nil, fmt.Errorf("%s: ULID %d used twice", where, num)
		}
		names[b.ID] = fields[0]
		blocks = append(blocks, b)
	}
	return blocks, names, nil
}

// testULID returns a valid ULID ordered by n.
func testULID(n uint64) ulid.ULID {
	var id ulid.ULID
	if err := id.SetTime(n); err != nil {
		panic(err)
	}
	return id
}

func intArg(c transcriptCase, key string, time bool) (int64, error) {
	v, ok := c.args[key]
	if !ok {
		return 0, fmt.Errorf("missing %s=", key)
	}
	if time {
		return parseTime(v)
	}
	return strconv.ParseInt(v, 10, 64)
}

func runCase(c transcriptCase) (string, error) {
	switch c.cmd {
	case "plan":
		blocks, names, err := parseBlocks(c)
		if err != nil {
			return "", err
		}
		var ranges []int64
		if v := c.args["ranges"]; v != "" {
			for _, r := range strings.Split(v, ",") {
				ms, err := parseTime(r)
				if err != nil {
					return "", err
				}
				ranges = append(ranges, ms)
			}
		}
		in := slices.Clone(blocks)
		res := Plan(blocks, ranges)
		if !slices.EqualFunc(in, blocks, blockEqual) {
			return "", fmt.Errorf("Plan modified its input")
		}
		if len(res) == 0 {
			return "nothing", nil
		}
		var sb strings.Builder
		sb.WriteString("compact")
		for _, id := range res {
			sb.WriteString(" " + names[id])
		}
		return sb.String(), nil

	case "expired":
		blocks, names, err := parseBlocks(c)
		if err != nil {
			return "", err
		}
		retention, err := intArg(c, "retention", true)
		if err != nil {
			return "", err
		}
		maxBytes, err := intArg(c, "maxbytes", false)
		if err != nil {
			return "", err
		}
		extra, err := intArg(c, "extra", false)
		if err != nil {
			return "", err
		}
		in := slices.Clone(blocks)
		res := Expired(blocks, retention, maxBytes, extra)
		if !slices.EqualFunc(in, blocks, blockEqual) {
			return "", fmt.Errorf("Expired modified its input")
		}
		if len(res) == 0 {
			return "nothing", nil
		}
		lines := make([]string, len(res))
		for i, e := range res {
			lines[i] = names[e.ID] + " " + e.Reason
		}
		return strings.Join(lines, "\n"), nil

	case "ranges", "exponential":
		if len(c.input) > 0 {
			return "", fmt.Errorf("%s takes no input", c.cmd)
		}
		var rngs []int64
		if c.cmd == "ranges" {
			minB, err := intArg(c, "min", true)
			if err != nil {
				return "", err
			}
			maxB, err := intArg(c, "max", true)
			if err != nil {
				return "", err
			}
			ret, err := intArg(c, "retention", true)
			if err != nil {
				return "", err
			}
			rngs = Ranges(minB, maxB, ret)
		} else {
			minB, err := intArg(c, "min", true)
			if err != nil {
				return "", err
			}
			steps, err := intArg(c, "steps", false)
			if err != nil {
				return "", err
			}
			step, err := intArg(c, "step", false)
			if err != nil {
				return "", err
			}
			rngs = ExponentialRanges(minB, int(steps), int(step))
		}
		if len(rngs) == 0 {
			return "none", nil
		}
		s := make([]string, len(rngs))
		for i, r := range rngs {
			s[i] = formatTime(r)
		}
		return strings.Join(s, " "), nil
	}
	return "", fmt.Errorf("unknown command %q", c.cmd)
}

func blockEqual(a, b Block) bool {
	return a.ID == b.ID && a.MinTime == b.MinTime && a.MaxTime == b.MaxTime &&
		a.Level == b.Level && a.Size == b.Size && a.NumSeries == b.NumSeries &&
		a.NumTombstones == b.NumTombstones && a.Failed == b.Failed && slices.Equal(a.Hints, b.Hints)
}

func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.txt")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			for _, c := range readTranscript(t, file) {
				got, err := runCase(c)
				if err != nil {
					t.Errorf("%s: %s: %v", c.pos, c.cmd, err)
					continue
				}
				if got != c.want {
					t.Errorf("%s: %s\n--- got\n%s\n--- want\n%s", c.pos, c.cmd, got, c.want)
				}
			}
		})
	}
}
