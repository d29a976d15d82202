package compliance

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"mytsdb/compliance/corpus"
	"mytsdb/compliance/server"
)

// The swap of issue 14: a user stops Prometheus and starts mytsdb on the
// same data directory. An Env whose candidate is the real Prometheus,
// loaded, becomes one whose candidate is mytsdb serving that Prometheus's
// data: SwapCandidate does the swap, WaitConverted waits for mytsdb's
// background conversion of it.

// Swap runs the swap on a loaded Env whose candidate is the real
// Prometheus (short-block mode, so that the directory holds blocks,
// compactions, a head and a WAL): the candidate is stopped and mytsdb
// started on its data directory, the reference restarted on its own (both
// sides have just restarted), and cases are compared three times: with
// Prometheus's files served read-only (--storage.prometheus-data.keep),
// right after a restart that converts them in the background, and once the
// conversion is done (within timeout). Outcomes are named by phase.
func (e *Env) Swap(ctx context.Context, cases []corpus.Case, timeout time.Duration) ([]Outcome, error) {
	cases = swapCases(cases)
	var outs []Outcome
	phase := func(name string, restart bool, extra ...string) error {
		if restart {
			if err := e.SwapCandidate(ctx, extra...); err != nil {
				return err
			}
			if err := e.RestartReference(ctx); err != nil {
				return err
			}
		}
		o := RunCasesMode(ctx, e.Ref.URL, e.Cand.URL, e.Base, cases, e.Blocks)
		for i := range o {
			o[i].Name = name + ": " + o[i].Name
		}
		outs = append(outs, o...)
		return nil
	}
	if err := phase("before the conversion", true, "--storage.prometheus-data.keep"); err != nil {
		return nil, err
	}
	if v, err := server.Metric(ctx, http.DefaultClient, e.Cand.URL, HistoryPartsMetric); err == nil {
		return nil, fmt.Errorf("compliance: with --storage.prometheus-data.keep mytsdb converts: %s = %v", HistoryPartsMetric, v)
	}
	if err := phase("during the conversion", true); err != nil {
		return nil, err
	}
	if err := e.WaitConverted(ctx, timeout); err != nil {
		return nil, err
	}
	if err := phase("after the conversion", false); err != nil {
		return nil, err
	}
	return outs, nil
}

// swapLayoutPaths are the endpoints that describe where the data lives
// (the head's statistics, the blocks, the WAL replay), which the swap
// changes by design: mytsdb serves Prometheus's head from its WAL beside a
// head of its own, then holds it in its own blocks.
var swapLayoutPaths = []string{"/api/v1/status/tsdb", "/api/v1/status/tsdb/blocks", "/api/v1/status/walreplay"}

// swapCases adapts the corpus to the swap: the scrape cases go, data and
// API (they read what the servers scraped in the seconds since their
// restart, the targets' health and metadata: the first scrape after it adds
// series and fills the metadata, and the two servers restart at different
// instants), the layout endpoints go, and
// results are compared without their order, which for unsorted selects
// and limits follows the storage's layout (a head returns its series in
// creation order, a block in label order; Prometheus does the same once it
// has compacted its head). A limited label-values case with matchers
// keeps the values of the first series the layout yields: it goes too.
func swapCases(cases []corpus.Case) []corpus.Case {
	var out []corpus.Case
	for _, c := range cases {
		if c.Structural() { // corpus.Scrape and corpus.ScrapeAPI
			continue
		}
		r := c.Resolve(0)
		if c.Kind == corpus.API && (slices.Contains(swapLayoutPaths, r.Path) ||
			strings.HasPrefix(r.Path, "/api/v1/label/") && r.Params.Get("limit") != "" && r.Params.Has("match[]")) {
			continue
		}
		c.Unordered = true
		out = append(out, c)
	}
	return out
}

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
		v, err := server.Metric(ctx, http.DefaultClient, e.Cand.URL, HistoryPartsMetric)
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
