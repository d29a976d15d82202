package compliance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"mytsdb/compliance/compare"
	"mytsdb/compliance/corpus"
	"mytsdb/compliance/datagen"
	"mytsdb/compliance/server"
)

// Load writes the data set to both servers (each remote write is itself a
// compared case), waits until both have scraped every fixture target a few
// times, then makes the flaky target disappear and waits until both see it
// down. It returns the outcomes of the remote writes. refURL and candURL are
// usually e.Ref.URL and e.Cand.URL.
//
// In the short-block mode (e.Blocks) the data goes in time order
// (datagen.TimeOrderedWrites) to servers that scrape nothing yet, then both
// reload the full config and scrape as usual, and finally Load waits for the
// block layout (WaitBlocks), whose outcome it returns with the writes'.
func (e *Env) Load(ctx context.Context, refURL, candURL string) ([]Outcome, error) {
	writes, err := datagen.Writes(e.Base)
	if e.Blocks {
		writes, err = datagen.TimeOrderedWrites(e.Base)
	}
	if err != nil {
		return nil, err
	}
	var outs []Outcome
	var g guard
	for _, w := range writes {
		ref := postWrite(ctx, refURL, w)
		cand := g.do(func() compare.Response { return postWrite(ctx, candURL, w) })
		outs = append(outs, Outcome{Name: "remote write: " + w.Name, Result: compare.Compare("/api/v1/write", compare.Mode{}, ref, cand)})
	}
	e.logf("sent %d remote-write requests", len(writes))
	if e.Blocks {
		if err := e.startScraping(); err != nil {
			return nil, err
		}
	}

	// Every target scraped at least 3 times on both sides.
	ready := fmt.Sprintf(`count(count_over_time(up[1m]) >= 3) == %d`, ExpectedTargets)
	if err := waitBoth(ctx, refURL, candURL, ready, 30*time.Second); err != nil {
		e.logf("warning: %v", err)
	}
	e.Targets.Disappear()
	gone := `up{job="flaky"} == 0 unless on() fixture_flaky_up`
	if err := waitBoth(ctx, refURL, candURL, gone, 30*time.Second); err != nil {
		e.logf("warning: %v", err)
	}
	e.logf("scrape phase done")
	if e.Blocks {
		outs = append(outs, e.WaitBlocks(ctx, refURL, candURL, BlocksTimeout))
	}
	return outs, nil
}

// startScraping writes the full config over the scrape-less one the
// short-block mode starts with and has both servers reload it.
func (e *Env) startScraping() error {
	if err := os.WriteFile(e.cfg, []byte(Config(e.Targets)), 0o644); err != nil {
		return fmt.Errorf("compliance: write config: %w", err)
	}
	for _, s := range []*server.Server{e.Ref, e.Cand} {
		if err := s.Reload(); err != nil {
			return fmt.Errorf("compliance: %w", err)
		}
	}
	e.logf("both servers reloaded the config with the scrape jobs")
	return nil
}

func postWrite(ctx context.Context, serverURL string, w datagen.Write) compare.Response {
	hr, err := http.NewRequestWithContext(ctx, "POST", serverURL+"/api/v1/write", bytes.NewReader(w.Body))
	if err != nil {
		return compare.Response{Err: err}
	}
	for k, v := range w.Headers {
		hr.Header.Set(k, v)
	}
	return send(hr)
}

// waitBoth polls until query returns a non-empty vector on both servers.
func waitBoth(ctx context.Context, refURL, candURL, query string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, u := range []string{refURL, candURL} {
		for !nonEmpty(ctx, u, query) {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %q still empty after %s", u, query, timeout)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func nonEmpty(ctx context.Context, serverURL, query string) bool {
	resp := do(ctx, serverURL, corpus.Request{Method: "GET", Path: "/api/v1/query", Params: url.Values{"query": {query}}})
	if resp.Err != nil || resp.Status != http.StatusOK {
		return false
	}
	var r struct {
		Data struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	return json.Unmarshal(resp.Body, &r) == nil && len(r.Data.Result) > 0
}
