package compliance

import (
	"context"
	"testing"
)

// TestMytsdbQuick runs the quick subset with mytsdb as the candidate
// (MYTSDB_BINARY, else built from ./cmd/mytsdb) and fails on any mismatch.
func TestMytsdbQuick(t *testing.T) {
	env := startEnv(t, "mytsdb")
	requireAllPass(t, RunCases(context.Background(), env.Ref.URL, env.Cand.URL, env.Base, quickCorpus(t)))
}
