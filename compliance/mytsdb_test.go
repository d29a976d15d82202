package compliance

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMytsdbQuick runs the quick subset, the fresh phase (federation,
// OTLP, exemplars), remote read and the rules phase with mytsdb as the candidate (MYTSDB_BINARY, else built
// from ./cmd/mytsdb) and fails on any mismatch, or if mytsdb's build info has
// no version.
func TestMytsdbQuick(t *testing.T) {
	env := startEnv(t, "mytsdb")
	outs := RunCases(context.Background(), env.Ref.URL, env.Cand.URL, env.Base, quickCorpus(t))
	outs = append(outs, env.Fresh(context.Background(), env.Ref.URL, env.Cand.URL)...)
	outs = append(outs, env.RemoteRead(context.Background(), env.Ref.URL, env.Cand.URL)...)
	outs = append(outs, env.Rules(context.Background(), env.Ref.URL, env.Cand.URL)...)
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

// TestMytsdbParquetQuick is TestMytsdbBlocksQuick with the candidate's
// blocks only in its Parquet tier (Options.Parquet): every block uploaded
// to the FILESYSTEM bucket and removed locally before the queries run, so
// that every query of the past reads Parquet. It runs beside the other
// short-block tests, sharing their wait for a head cut to pass.
func TestMytsdbParquetQuick(t *testing.T) {
	t.Parallel()
	env := startEnvWith(t, Options{Candidate: "mytsdb", Parquet: true, BlocksQuiet: 40 * time.Second, Logf: t.Logf})
	outs := RunCasesMode(context.Background(), env.Ref.URL, env.Cand.URL, env.Base, ParquetCases(quickCorpus(t)), true)
	outs = append(outs, env.RemoteRead(context.Background(), env.Ref.URL, env.Cand.URL)...)
	requireAllPass(t, outs)
}

// TestMytsdbOnPrometheusHistory is the swap of issue 14 (see Swap) with
// the quick corpus in the short-block mode; it also checks that the
// conversion removed Prometheus's WAL and head chunks.
func TestMytsdbOnPrometheusHistory(t *testing.T) {
	t.Parallel()
	env := startBlocksEnv(t, "prometheus")
	outs, err := env.Swap(context.Background(), quickCorpus(t), 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	requireAllPass(t, outs)
	for _, name := range []string{"wal", "chunks_head"} {
		if _, err := os.Stat(filepath.Join(env.Cand.DataDir, name)); !os.IsNotExist(err) {
			t.Errorf("Prometheus's %s is still there after the conversion (%v)", name, err)
		}
	}
	phases := map[string]int{}
	for _, o := range outs {
		phases[strings.SplitN(o.Name, ":", 2)[0]]++
	}
	if len(phases) != 3 {
		t.Errorf("phases compared: %v, want 3", phases)
	}
}
