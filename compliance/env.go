package compliance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"mytsdb/compliance/datagen"
	"mytsdb/compliance/server"
	"mytsdb/compliance/targets"
)

// Options configure an Env.
type Options struct {
	// Candidate is "mytsdb" (default) or "prometheus".
	Candidate string
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// Env is a running side-by-side setup: fixture targets, the reference and the
// candidate server, and the data set's base time.
type Env struct {
	Ref, Cand *server.Server
	Targets   *targets.Set
	Base      int64 // Unix ms; see datagen.Base
	dir       string
	logf      func(string, ...any)
}

// Start starts the fixture targets and both servers (in parallel) on the
// same config. It does not load data: see Load.
func Start(ctx context.Context, o Options) (_ *Env, err error) {
	if o.Candidate == "" {
		o.Candidate = "mytsdb"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	e := &Env{logf: o.Logf}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.dir, err = os.MkdirTemp("", "mytsdb-compliance-"); err != nil {
		return nil, fmt.Errorf("compliance: temp dir: %w", err)
	}
	refBin, err := server.PrometheusBinary()
	if err != nil {
		return nil, err
	}
	var candBin string
	switch o.Candidate {
	case "prometheus":
		candBin = refBin
	case "mytsdb":
		e.logf("building or locating mytsdb")
		if candBin, err = server.MytsdbBinary(e.dir); err != nil {
			return nil, fmt.Errorf("compliance: candidate mytsdb: %w", err)
		}
	default:
		return nil, fmt.Errorf("compliance: unknown candidate %q (want mytsdb or prometheus)", o.Candidate)
	}
	e.Targets = targets.Start()
	cfg := filepath.Join(e.dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(Config(e.Targets)), 0o644); err != nil {
		return nil, fmt.Errorf("compliance: write config: %w", err)
	}
	e.Base = datagen.Base(time.Now())
	var wg sync.WaitGroup
	var refErr, candErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		e.Ref, refErr = server.Start(ctx, server.Options{Name: "reference", Binary: refBin, ConfigFile: cfg})
	}()
	go func() {
		defer wg.Done()
		e.Cand, candErr = server.Start(ctx, server.Options{Name: "candidate", Binary: candBin, ConfigFile: cfg})
	}()
	wg.Wait()
	if refErr != nil {
		return nil, refErr
	}
	if candErr != nil {
		return nil, candErr
	}
	e.logf("reference %s at %s, candidate %s at %s", refBin, e.Ref.URL, candBin, e.Cand.URL)
	return e, nil
}

// Close stops the servers and targets and removes the temp dir.
func (e *Env) Close() {
	if e.Ref != nil {
		_ = e.Ref.Stop()
	}
	if e.Cand != nil {
		_ = e.Cand.Stop()
	}
	if e.Targets != nil {
		e.Targets.Close()
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}
