package compliance

import (
	"context"
	"testing"
	"time"

	"mytsdb/compliance/corpus"
	"mytsdb/compliance/datagen"
)

// startEnv starts an Env with the given candidate and loads the data set,
// failing the test if the writes already differ.
func startEnv(t *testing.T, candidate string) *Env {
	t.Helper()
	return startEnvWith(t, Options{Candidate: candidate, Logf: t.Logf})
}

// startBlocksEnv is startEnv in the short-block mode, waiting for a head cut
// to pass if one would come in the next 40s (the quick run needs less).
func startBlocksEnv(t *testing.T, candidate string) *Env {
	t.Helper()
	return startEnvWith(t, Options{Candidate: candidate, Blocks: true, BlocksQuiet: 40 * time.Second, Logf: t.Logf})
}

func startEnvWith(t *testing.T, o Options) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := Start(ctx, o)
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

func TestBlocksBase(t *testing.T) {
	r := BlockRange
	for _, c := range []struct {
		now       string // wall clock, within one range
		wait      bool
		headStart string
	}{
		{"16:02:31", false, "16:00:00"}, // just after a cut: 5m quiet ahead
		{"16:06:00", false, "16:00:00"}, // 90s ahead
		{"16:06:31", true, "16:00:00"},  // 59s ahead: wait for the cut at 16:07:30
		{"16:07:29", true, "16:00:00"},
		{"16:07:31", false, "16:05:00"},
	} {
		now, _ := time.Parse(time.TimeOnly, c.now)
		now = time.Date(2026, 12, 6, now.Hour(), now.Minute(), now.Second(), 0, time.UTC)
		base, wait := BlocksBase(now, time.Minute)
		if (wait > 0) != c.wait || wait > time.Minute+5*time.Second {
			t.Errorf("%s: wait %s", c.now, wait)
		}
		hs, _ := time.Parse(time.TimeOnly, c.headStart)
		want := time.Date(2026, 12, 6, hs.Hour(), hs.Minute(), 0, 0, time.UTC)
		if c.wait {
			want = want.Add(r)
		}
		if got := time.UnixMilli(base).UTC().Add(datagen.Span - HeadData); !got.Equal(want) {
			t.Errorf("%s: head starts at %s, want %s", c.now, got.Format(time.TimeOnly), want.Format(time.TimeOnly))
		}
		start := now.Add(wait)
		// The data ends before the run starts; the next cut is at least quiet away.
		if end := time.UnixMilli(base).Add(datagen.Span + 30*time.Second); !end.Before(start) {
			t.Errorf("%s: data ends at %s, after the start %s", c.now, end.UTC().Format(time.TimeOnly), start.Format(time.TimeOnly))
		}
		if next := want.Add(3 * r / 2); next.Sub(start) < time.Minute {
			t.Errorf("%s: next cut %s less than a minute after the start %s", c.now, next.Format(time.TimeOnly), start.Format(time.TimeOnly))
		}
	}
}
