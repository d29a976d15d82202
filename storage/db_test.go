package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

type point struct {
	t int64
	v float64
}

func appendPoints(t *testing.T, st promstorage.Appendable, lset labels.Labels, pts []point) {
	t.Helper()
	app := st.Appender(context.Background())
	for _, p := range pts {
		if _, err := app.Append(0, lset, p.t, p.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

// readAll returns every series (label string → points) of a queryable.
func readAll(t *testing.T, q promstorage.Queryable) map[string][]point {
	t.Helper()
	qr, err := q.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	set := qr.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	out := map[string][]point{}
	for set.Next() {
		it := set.At().Iterator(nil)
		var pts []point
		for it.Next() == chunkenc.ValFloat {
			tt, v := it.At()
			pts = append(pts, point{tt, v})
		}
		out[set.At().Labels().String()] = pts
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func equalPoints(a, b []point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].t != b[i].t || math.Float64bits(a[i].v) != math.Float64bits(b[i].v) {
			return false
		}
	}
	return true
}

func TestTenantsIsolatedAndReopened(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	db, err := Open(Options{Dir: dir, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.Tenant("team-a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.Tenant("team.b_2")
	if err != nil {
		t.Fatal(err)
	}
	la, lb := labels.FromStrings("__name__", "up", "t", "a"), labels.FromStrings("__name__", "up", "t", "b")
	pa := []point{{1000, 1}, {2000, 2}}
	pb := []point{{1000, 10}, {3000, math.Float64frombits(0x7ff0000000000002)}}
	appendPoints(t, a, la, pa)
	appendPoints(t, b, lb, pb)
	appendPoints(t, db.Default(), la, []point{{5000, 5}})

	for _, bad := range []string{"", ".", "..", "a/b", "../x", strings.Repeat("x", 151), "ä"} {
		if _, err := db.Tenant(bad); !errors.Is(err, ErrInvalidTenantID) {
			t.Errorf("Tenant(%q) = %v, want ErrInvalidTenantID", bad, err)
		}
	}
	check := func(db *DB) {
		t.Helper()
		a, _ := db.Tenant("team-a")
		b, _ := db.Tenant("team.b_2")
		ga, gb := readAll(t, a), readAll(t, b)
		if len(ga) != 1 || !equalPoints(ga[la.String()], pa) {
			t.Fatalf("tenant a: %v", ga)
		}
		if len(gb) != 1 || !equalPoints(gb[lb.String()], pb) {
			t.Fatalf("tenant b: %v", gb)
		}
		if got := db.Tenants(); strings.Join(got, ",") != "default,team-a,team.b_2" {
			t.Fatalf("Tenants() = %v", got)
		}
	}
	check(db)

	// Metrics: the default tenant has plain names, others a tenant label.
	want := `
# HELP prometheus_tsdb_head_series Total number of series in the head block.
# TYPE prometheus_tsdb_head_series gauge
prometheus_tsdb_head_series 1
prometheus_tsdb_head_series{tenant="team-a"} 1
prometheus_tsdb_head_series{tenant="team.b_2"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "prometheus_tsdb_head_series"); err != nil {
		t.Fatal(err)
	}

	// A second process (here: a second open) cannot take a locked tenant.
	if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}

	// A copy taken while the DB is open is what kill -9 leaves on disk:
	// every committed sample must be replayed from it.
	crashDir := t.TempDir()
	if out, err := exec.Command("cp", "-a", dir+"/.", crashDir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	for _, id := range []string{"default", "team-a", "team.b_2"} {
		_ = os.Remove(filepath.Join(crashDir, id, "lock")) // Not needed: flock is not in the file.
	}
	crashed, err := Open(Options{Dir: crashDir})
	if err != nil {
		t.Fatal(err)
	}
	check(crashed)
	if err := crashed.Close(); err != nil {
		t.Fatal(err)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(Options{Dir: dir, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	check(db2)
}

// TestStaleLockAfterKill: a process holding a tenant lock is killed with
// SIGKILL; the directory opens right after.
func TestStaleLockAfterKill(t *testing.T) {
	if dir := os.Getenv("MYTSDB_LOCK_HELPER_DIR"); dir != "" {
		db, err := Open(Options{Dir: dir})
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		a, _ := db.Tenant("x")
		appendPoints(t, a, labels.FromStrings("__name__", "m"), []point{{1, 1}})
		fmt.Println("locked")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStaleLockAfterKill$")
	cmd.Env = append(os.Environ(), "MYTSDB_LOCK_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if !strings.Contains(string(buf[:n]), "locked") {
		_ = cmd.Process.Kill()
		t.Fatalf("helper said %q", buf[:n])
	}
	if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrLocked) {
		t.Errorf("Open while the helper runs = %v, want ErrLocked", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open after kill: %v", err)
	}
	defer db.Close()
	x, err := db.Tenant("x")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, x); !equalPoints(got[`{__name__="m"}`], []point{{1, 1}}) {
		t.Fatalf("after kill: %v", got)
	}
}

// TestRetention: as in Prometheus, retention deletes whole blocks, by time
// relative to the newest block's end; the head keeps what it holds until it
// is cut (nothing older than retention skips the blocks), and StartTime
// follows the oldest block kept.
func TestRetention(t *testing.T) {
	db := openBlocksDB(t, t.TempDir(), nil, func(o *Options) { o.RetentionDuration = time.Hour })
	defer db.Close()
	tn := db.Default()
	l := labels.FromStrings("__name__", "m")
	base := time.Now().Add(-5 * time.Hour).UnixMilli()
	base -= base % testRange
	m := blockModel{}
	for ts := base; ts <= base+5*3600*1000; ts += 15000 {
		appendPoints(t, tn, l, []point{{ts, float64(ts)}})
		m.add(l, point{ts, float64(ts)})
	}
	if err := tn.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	metas := tn.Blocks()
	if len(metas) < 2 {
		t.Fatalf("%d blocks", len(metas))
	}
	newest := metas[len(metas)-1].MaxTime
	for _, bm := range metas {
		if newest-bm.MaxTime >= time.Hour.Milliseconds() {
			t.Fatalf("block [%d, %d) outlived retention (newest block ends at %d)", bm.MinTime, bm.MaxTime, newest)
		}
	}
	if first := metas[0].MinTime; first > newest-time.Hour.Milliseconds() {
		t.Fatalf("retention deleted a block ending within the hour: the oldest kept starts at %d, newest ends at %d", first, newest)
	}
	if st, _ := tn.StartTime(); st != metas[0].MinTime {
		t.Fatalf("StartTime %d, want the oldest block's start %d", st, metas[0].MinTime)
	}
	if d := diffModels(m.in(metas[0].MinTime, math.MaxInt64), readRange(t, tn, math.MinInt64, math.MaxInt64)); d != "" {
		t.Fatalf("after retention:\n%s", d)
	}
}
