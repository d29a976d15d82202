package compliance

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mytsdb/compliance/server"
)

// The swap of issue 14: a user stops Prometheus and starts mytsdb on the
// same data directory. An Env whose candidate is the real Prometheus,
// loaded, becomes one whose candidate is mytsdb serving that Prometheus's
// data: SwapCandidate does the swap, WaitConverted waits for mytsdb's
// background conversion of it.

// HistoryPartsMetric is mytsdb's gauge of the Prometheus parts still to
// convert.
const HistoryPartsMetric = "mytsdb_prometheus_history_parts"

// SwapCandidate stops the candidate (SIGTERM, as a user's service manager
// does) and starts mytsdb on its data directory with the same config and
// flags, plus extra. The stopped server's files go when the Env closes.
func (e *Env) SwapCandidate(ctx context.Context, extra ...string) error {
	old := e.Cand
	if err := old.Halt(); err != nil {
		return fmt.Errorf("compliance: stop the candidate before the swap: %w", err)
	}
	if !containsServer(e.retired, old) {
		e.retired = append(e.retired, old)
	}
	bin, err := server.MytsdbBinary(e.dir)
	if err != nil {
		return fmt.Errorf("compliance: mytsdb for the swap: %w", err)
	}
	flags := append(append([]string(nil), e.flags...), extra...)
	cand, err := server.Start(ctx, server.Options{Name: "candidate", Binary: bin, ConfigFile: e.cfg, ExtraFlags: flags, DataDir: old.DataDir})
	if err != nil {
		return err
	}
	e.Cand = cand
	e.logf("candidate swapped: %s now serves %s (%s)", bin, old.DataDir, strings.Join(extra, " "))
	return nil
}

func containsServer(ss []*server.Server, s *server.Server) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// RestartReference stops the reference (SIGTERM) and starts it again on
// its data directory, so that both sides of a swap have just restarted:
// what a restart loses (scrape caches and their metadata, WAL replay
// status) is lost on both.
func (e *Env) RestartReference(ctx context.Context) error {
	old := e.Ref
	if err := old.Halt(); err != nil {
		return fmt.Errorf("compliance: stop the reference: %w", err)
	}
	if !containsServer(e.retired, old) {
		e.retired = append(e.retired, old)
	}
	ref, err := server.Start(ctx, server.Options{Name: "reference", Binary: old.Binary, ConfigFile: e.cfg, ExtraFlags: e.flags, DataDir: old.DataDir})
	if err != nil {
		return err
	}
	e.Ref = ref
	return nil
}

// WaitConverted waits until the candidate reports no Prometheus part left
// to convert.
func (e *Env) WaitConverted(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		v, err := metricValue(ctx, e.Cand.URL, HistoryPartsMetric)
		switch {
		case err != nil:
			last = err.Error()
		case v == 0:
			return nil
		default:
			last = fmt.Sprintf("%s = %v", HistoryPartsMetric, v)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("compliance: conversion not done after %s (%s)", timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// metricValue reads an unlabelled sample from serverURL's /metrics.
func metricValue(ctx context.Context, serverURL, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, serverURL+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/metrics has no %s", name)
}
