package compliance

import (
	"context"
	"testing"
	"time"

	"mytsdb/compliance/corpus"
)

// startEnv starts an Env with the given candidate and loads the data set,
// failing the test if the writes already differ.
func startEnv(t *testing.T, candidate string) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := Start(ctx, Options{Candidate: candidate, Logf: t.Logf})
	if err != nil {
		t.Fatalf("start (if the reference is missing: run make ref): %v", err)
	}
	t.Cleanup(env.Close)
	outs, err := env.Load(ctx, env.Ref.URL, env.Cand.URL)
	if err != nil {
		t.Fatal(err)
	}
	requireAllPass(t, outs)
	return env
}

func quickCorpus(t *testing.T) []corpus.Case {
	t.Helper()
	cases, err := LoadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 400 {
		t.Fatalf("corpus has %d cases, want at least 400", len(cases))
	}
	return Quick(cases)
}

func requireAllPass(t *testing.T, outs []Outcome) {
	t.Helper()
	for _, o := range Failures(outs) {
		t.Errorf("FAIL %s\n  %s\n%s", o.Name, o.Result.Reason, o.Result.SideBySide(60))
	}
	t.Logf("%d cases compared, %d failed", len(outs), len(Failures(outs)))
}
