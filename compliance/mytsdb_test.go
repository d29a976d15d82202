package compliance

import (
	"context"
	"testing"
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
