package compliance

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mytsdb/compliance/corpus"
)

// TestMytsdbQuick runs the quick subset and the fresh phase (federation,
// OTLP, exemplars) with mytsdb as the candidate (MYTSDB_BINARY, else built
// from ./cmd/mytsdb) and fails on any mismatch, or if mytsdb's build info has
// no version.
func TestMytsdbQuick(t *testing.T) {
	env := startEnv(t, "mytsdb")
	outs := RunCases(context.Background(), env.Ref.URL, env.Cand.URL, env.Base, quickCorpus(t))
	outs = append(outs, env.Fresh(context.Background(), env.Ref.URL, env.Cand.URL)...)
	requireAllPass(t, append(outs, CheckVersion(context.Background(), env.Cand.URL)))
}

// TestMytsdbBlocksQuick is TestMytsdbQuick in the short-block mode
// (Options.Blocks): the data spread over the head, several blocks and a
// compaction on both servers. It runs beside
// TestHarnessPrometheusVsPrometheusBlocks, so that both share one wait for a
// head cut to pass.
func TestMytsdbBlocksQuick(t *testing.T) {
	t.Parallel()
	env := startBlocksEnv(t, "mytsdb")
	outs := RunCasesMode(context.Background(), env.Ref.URL, env.Cand.URL, env.Base, quickCorpus(t), true)
	requireAllPass(t, outs)
}

// TestMytsdbOnPrometheusHistory is the swap of issue 14 in the short-block
// mode: two real Prometheus servers take the data set (blocks, compactions
// and a head); the candidate is stopped and mytsdb started on its data
// directory, and the quick corpus is compared with the reference three
// times: with Prometheus's files served read-only
// (--storage.prometheus-data.keep), right after a restart that converts
// them in the background, and once the conversion is done.
func TestMytsdbOnPrometheusHistory(t *testing.T) {
	t.Parallel()
	env := startBlocksEnv(t, "prometheus")
	ctx := context.Background()
	cases := swapCases(quickCorpus(t))
	run := func(phase string) {
		outs := RunCasesMode(ctx, env.Ref.URL, env.Cand.URL, env.Base, cases, true)
		for i := range outs {
			outs[i].Name = phase + ": " + outs[i].Name
		}
		requireAllPass(t, outs)
	}
	swap := func(extra ...string) {
		t.Helper()
		if err := env.SwapCandidate(ctx, extra...); err != nil {
			t.Fatal(err)
		}
		if err := env.RestartReference(ctx); err != nil {
			t.Fatal(err)
		}
	}
	swap("--storage.prometheus-data.keep")
	if v, err := metricValue(ctx, env.Cand.URL, HistoryPartsMetric); err == nil {
		t.Fatalf("with --storage.prometheus-data.keep mytsdb converts: %s = %v", HistoryPartsMetric, v)
	}
	run("before the conversion")
	swap()
	if v, err := metricValue(ctx, env.Cand.URL, HistoryPartsMetric); err != nil || v == 0 {
		t.Fatalf("nothing to convert after the swap: %v, %v", v, err)
	}
	run("during the conversion")
	if err := env.WaitConverted(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"wal", "chunks_head"} {
		if _, err := os.Stat(filepath.Join(env.Cand.DataDir, name)); !os.IsNotExist(err) {
			t.Errorf("Prometheus's %s is still there after the conversion (%v)", name, err)
		}
	}
	run("after the conversion")
}

// swapLayoutPaths are the endpoints that describe where the data lives
// (the head's statistics, the blocks, the WAL replay), which the swap
// changes by design: mytsdb serves Prometheus's head from its WAL beside a
// head of its own, then holds it in its own blocks.
var swapLayoutPaths = []string{"/api/v1/status/tsdb", "/api/v1/status/tsdb/blocks", "/api/v1/status/walreplay"}

// swapCases adapts the corpus to the swap: the layout endpoints go, and
// results are compared without their order, which for unsorted selects
// and limits follows the storage's layout (a head returns its series in
// creation order, a block in label order; Prometheus does the same once it
// has compacted its head). A limited label-values case with matchers
// keeps the values of the first series the layout yields: it goes too.
func swapCases(cases []corpus.Case) []corpus.Case {
	var out []corpus.Case
	for _, c := range cases {
		r := c.Resolve(0)
		if (c.Kind == corpus.API || c.Kind == corpus.ScrapeAPI) && (slices.Contains(swapLayoutPaths, r.Path) ||
			strings.HasPrefix(r.Path, "/api/v1/label/") && r.Params.Get("limit") != "" && r.Params.Has("match[]")) {
			continue
		}
		c.Unordered = true
		out = append(out, c)
	}
	return out
}
