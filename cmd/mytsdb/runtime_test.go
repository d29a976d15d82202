package main

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
)

// TestMemLimiterFollowsDetectedLimit drives the refresh loop's step with a
// model of a cgroup that is resized, fails to be read and reports no limit:
// GOMEMLIMIT is set to ratio × limit on every change and only then.
func TestMemLimiterFollowsDetectedLimit(t *testing.T) {
	type detection struct {
		limit uint64
		err   error
	}
	steps := []detection{{1000, nil}, {1000, nil}, {2000, nil}, {0, errors.New("unreadable")}, {0, nil}, {500, nil}}
	i := 0
	var set []int64
	m := memLimiter{
		ratio: 0.9,
		detect: func() (uint64, string, error) {
			d := steps[i]
			i++
			return d.limit, "cgroup", d.err
		},
		set:    func(n int64) int64 { set = append(set, n); return 0 },
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for range steps {
		m.apply()
	}
	if want := []int64{900, 1800, 450}; !slices.Equal(set, want) {
		t.Fatalf("GOMEMLIMIT set to %v, want %v", set, want)
	}
}
