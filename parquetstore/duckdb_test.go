package parquetstore

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/thanos-io/objstore/providers/filesystem"
)

// duckdbScript runs the SQL statements given as JSON in argv[1] with
// DuckDB (npm's @duckdb/node-api) in the folder given as argv[2] and
// prints each one's rows as JSON objects.
const duckdbScript = `
import { DuckDBInstance } from '@duckdb/node-api';
const [queries, dir] = [JSON.parse(process.argv[1]), process.argv[2]];
process.chdir(dir);
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const out = [];
for (const q of queries) {
  const r = await conn.runAndReadAll(q);
  out.push(r.getRowObjectsJson());
}
process.stdout.write(JSON.stringify(out));
`

// duckdbDir is where make duckdb installed DuckDB: DUCKDB_NODE_DIR (the
// Makefile exports it), else the repository's .cache/duckdb.
func duckdbDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("DUCKDB_NODE_DIR")
	if dir == "" {
		dir = filepath.Join("..", ".cache", "duckdb")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Fatalf("DuckDB is not installed (run make duckdb): %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: %v", err)
	}
	return dir
}

// duckdb runs queries in dir (relative file names in the SQL resolve
// there) and returns each one's rows.
func duckdb(t testing.TB, dir string, queries ...string) [][]map[string]any {
	t.Helper()
	qs, _ := json.Marshal(queries)
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "--input-type=module", "-e", duckdbScript, string(qs), abs)
	cmd.Dir = duckdbDir(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, stderr.String())
	}
	var res [][]map[string]any
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	if err := d.Decode(&res); err != nil {
		t.Fatalf("duckdb output: %v\n%s", err, out)
	}
	return res
}

// TestDuckDBReadsBlocks reads a written block's objects with DuckDB and
// checks that it gets the numbers the Querier returns: count(*) and
// sum(value) per series with the labels as strings, timestamps as
// integers, every float sample, and the native histograms' counts. The
// last query is the README's, over the bucket of two blocks.
func TestDuckDBReadsBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	dir := t.TempDir()
	bkt, err := filesystem.NewBucket(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := genModel(r, 30, 0, 2*3600_000, 15_000)
	meta := upload(t, bkt, tenant, localBlock(t, m))
	m2 := genModel(r, 10, 2*3600_000, 3*3600_000, 15_000)
	upload(t, bkt, tenant, localBlock(t, m2))

	ctx := context.Background()
	s, err := Open(ctx, bkt, tenant, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q, err := s.Querier(meta.MinTime, meta.MaxTime-1)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	got := gotSeries(t, q.Select(ctx, true, nil, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+")))

	block := filepath.Join(tenant, meta.ULID.String())
	res := duckdb(t, filepath.Join(dir, block),
		// Per series: labels as strings, count, sum, first and last timestamp.
		`SELECT s.labels."__name__" AS name, s.labels.instance AS instance, s.labels.job AS job, s.labels.le AS le,
		        count(*) AS n, sum(p.value) FILTER (WHERE isfinite(p.value)) AS total,
		        min(p.timestamp) AS first, max(p.timestamp) AS last
		 FROM 'samples.parquet' p JOIN 'series.parquet' s USING (series_id)
		 GROUP BY ALL ORDER BY name, instance, job NULLS FIRST, le NULLS FIRST`,
		// Every float sample, as written.
		`SELECT series_id, timestamp, value::VARCHAR AS value FROM 'samples.parquet' ORDER BY series_id, timestamp`,
		// Native histograms: samples, sum of the counts, sum of all positive buckets.
		`SELECT h.series_id, count(*) AS n, sum(h.count) AS count, sum(list_sum(h.positive_buckets)) AS pos,
		        bool_and(h.integer) AS integer
		 FROM 'histograms.parquet' h GROUP BY ALL ORDER BY h.series_id`,
	)
	type agg struct {
		lset        labels.Labels
		n           int
		total       float64
		first, last int64
	}
	var floats []agg
	type hagg struct {
		n                int
		count, pos       float64
		allInteger, some bool
	}
	hists := map[int]*hagg{}
	for i, g := range got {
		a := agg{lset: g.lset}
		for _, smp := range g.samples {
			switch smp.Type() {
			case chunkenc.ValFloat:
				if a.n == 0 {
					a.first = smp.t
				}
				a.n++
				a.last = smp.t
				if !math.IsNaN(smp.f) && !math.IsInf(smp.f, 0) {
					a.total += smp.f
				}
			default:
				h := hists[i]
				if h == nil {
					h = &hagg{allInteger: true}
					hists[i] = h
				}
				h.n++
				fh := smp.fh
				if smp.h != nil {
					fh = smp.h.ToFloat(nil)
				} else {
					h.allInteger = false
				}
				h.count += fh.Count
				for _, b := range fh.PositiveBuckets {
					h.pos += b
				}
			}
		}
		if a.n > 0 {
			floats = append(floats, a)
		}
	}

	// Query 1: per series aggregates.
	if len(res[0]) != len(floats) {
		t.Fatalf("DuckDB sees %d float series, the Querier %d", len(res[0]), len(floats))
	}
	for i, row := range res[0] {
		w := floats[i]
		for _, name := range []string{"__name__", "instance", "job", "le"} {
			col := name
			if name == "__name__" {
				col = "name"
			}
			var v string
			if row[col] != nil {
				v = row[col].(string)
			}
			if v != w.lset.Get(name) {
				t.Fatalf("row %d: %s is %q in DuckDB, %q in the Querier (%s)", i, name, v, w.lset.Get(name), w.lset)
			}
		}
		if n := jsonInt(t, row["n"]); n != int64(w.n) {
			t.Fatalf("%s: count(*) %d, Querier %d", w.lset, n, w.n)
		}
		if f, l := jsonInt(t, row["first"]), jsonInt(t, row["last"]); f != w.first || l != w.last {
			t.Fatalf("%s: timestamps [%d, %d], Querier [%d, %d]", w.lset, f, l, w.first, w.last)
		}
		// DuckDB adds in its own order: equal up to rounding.
		if tot := jsonFloat(t, row["total"]); !closeTo(tot, w.total) {
			t.Fatalf("%s: sum(value) %v, Querier %v", w.lset, tot, w.total)
		}
	}

	// Query 2: every float sample, equal bit for bit (NaNs as NaN).
	var want []sample
	for _, g := range got {
		for _, smp := range g.samples {
			if smp.Type() == chunkenc.ValFloat {
				want = append(want, smp)
			}
		}
	}
	if len(res[1]) != len(want) {
		t.Fatalf("DuckDB reads %d float samples, the Querier returns %d", len(res[1]), len(want))
	}
	for i, row := range res[1] {
		ts := jsonInt(t, row["timestamp"])
		v, err := strconv.ParseFloat(row["value"].(string), 64)
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		w := want[i]
		same := math.Float64bits(v) == math.Float64bits(w.f) || (math.IsNaN(v) && math.IsNaN(w.f))
		if ts != w.t || !same {
			t.Fatalf("sample %d: (%d, %v) in DuckDB, (%d, %v) from the Querier", i, ts, v, w.t, w.f)
		}
	}

	// Query 3: histograms.
	if len(res[2]) != len(hists) || len(hists) == 0 {
		t.Fatalf("DuckDB sees %d histogram series, the Querier %d", len(res[2]), len(hists))
	}
	for _, row := range res[2] {
		id := int(jsonInt(t, row["series_id"]))
		h := hists[id]
		if h == nil {
			t.Fatalf("DuckDB has histograms for series %d, the Querier none", id)
		}
		if n := jsonInt(t, row["n"]); n != int64(h.n) || row["integer"] != h.allInteger {
			t.Fatalf("series %d: %d histograms (integer %v) in DuckDB, Querier %d (%v)", id, n, row["integer"], h.n, h.allInteger)
		}
		if c, p := jsonFloat(t, row["count"]), jsonFloat(t, row["pos"]); !closeTo(c, h.count) || !closeTo(p, h.pos) {
			t.Fatalf("series %d: count %v and positive buckets %v in DuckDB, Querier %v and %v", id, c, p, h.count, h.pos)
		}
	}

	// The README's query, over the whole bucket: one metric's samples
	// with their labels, across blocks.
	name := m.series[0].lset.Get(labels.MetricName)
	readme := duckdb(t, dir, strings.ReplaceAll(readmeQuery, "'up'", "'"+name+"'"))[0]
	qa, err := s.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer qa.Close()
	var all []sample
	var lsets []string
	for _, g := range gotSeries(t, qa.Select(ctx, true, nil, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, name))) {
		for _, smp := range g.samples {
			if smp.Type() == chunkenc.ValFloat {
				all = append(all, smp)
				lsets = append(lsets, g.lset.Get("instance"))
			}
		}
	}
	if len(all) == 0 || len(readme) != len(all) {
		t.Fatalf("README query: %d rows, the Querier %d samples", len(readme), len(all))
	}
	for i, row := range readme {
		inst, _ := row["instance"].(string)
		if jsonInt(t, row["timestamp"]) != all[i].t || inst != lsets[i] || row["metric"] != name {
			t.Fatalf("README query row %d: %v, Querier (%s, %d)", i, row, lsets[i], all[i].t)
		}
	}
}

// readmeQuery is the SQL the README shows: a metric's samples with their
// labels over every block of a tenant in a FILESYSTEM bucket.
const readmeQuery = `SELECT s.labels."__name__" AS metric, s.labels.instance AS instance, p.timestamp, p.value
FROM read_parquet('default/*/samples.parquet', filename = true) p
JOIN read_parquet('default/*/series.parquet', filename = true, union_by_name = true) s
  ON p.series_id = s.series_id AND parse_dirpath(p.filename) = parse_dirpath(s.filename)
WHERE s.labels."__name__" = 'up'
ORDER BY instance, s.labels.job NULLS FIRST, s.labels.le NULLS FIRST, p.timestamp`

func jsonInt(t testing.TB, v any) int64 {
	t.Helper()
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			t.Fatalf("%v is not an integer", v)
		}
		return n
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			t.Fatalf("%q is not an integer", x)
		}
		return n
	}
	t.Fatalf("%v (%T) is not an integer", v, v)
	return 0
}

func jsonFloat(t testing.TB, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case nil:
		return 0
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			t.Fatalf("%v is not a number", v)
		}
		return f
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			t.Fatalf("%q is not a number", x)
		}
		return f
	}
	t.Fatalf("%v (%T) is not a number", v, v)
	return 0
}

func closeTo(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}
