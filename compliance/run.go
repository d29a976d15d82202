package compliance

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"mytsdb/compliance/compare"
	"mytsdb/compliance/corpus"
)

// Outcome is the result of one case (a corpus line or a remote write).
type Outcome struct {
	Name   string
	Result compare.Result
}

var client = &http.Client{Timeout: 30 * time.Second}

// guard stops sending to a candidate that no longer answers: after
// maxTransportErrors consecutive transport errors every further request is
// answered with an error at once, so that a hung candidate costs seconds,
// not (cases × timeout).
type guard struct{ consecutive int }

const maxTransportErrors = 3

func (g *guard) do(f func() compare.Response) compare.Response {
	if g.consecutive >= maxTransportErrors {
		return compare.Response{Err: fmt.Errorf("not sent: the candidate stopped answering (%d transport errors in a row)", g.consecutive)}
	}
	r := f()
	if r.Err != nil {
		g.consecutive++
	} else {
		g.consecutive = 0
	}
	return r
}

// do sends one request to one server.
func do(ctx context.Context, serverURL string, req corpus.Request) compare.Response {
	u, body := req.Encode(serverURL)
	var rd io.Reader
	if req.Method == "POST" {
		rd = strings.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, u, rd)
	if err != nil {
		return compare.Response{Err: err}
	}
	if req.Method == "POST" {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	return send(hr)
}

func send(hr *http.Request) compare.Response {
	resp, err := client.Do(hr)
	if err != nil {
		return compare.Response{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return compare.Response{Err: err}
	}
	return compare.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// RunCases sends every case to both servers (the reference first) and
// compares the answers.
func RunCases(ctx context.Context, refURL, candURL string, base int64, cases []corpus.Case) []Outcome {
	return RunCasesMode(ctx, refURL, candURL, base, cases, false)
}

// RunCasesMode is RunCases; blocks says the servers run in the short-block
// mode (Options.Blocks), where the exemptions marked BlocksOnly apply too.
func RunCasesMode(ctx context.Context, refURL, candURL string, base int64, cases []corpus.Case, blocks bool) []Outcome {
	out := make([]Outcome, 0, len(cases))
	var g guard
	for _, c := range cases {
		req := c.Resolve(base)
		ref := do(ctx, refURL, req)
		cand := g.do(func() compare.Response { return do(ctx, candURL, req) })
		out = append(out, Outcome{Name: c.Name(), Result: compare.Compare(req.Path, compare.Mode{Structural: c.Structural(), Unordered: c.Unordered, Blocks: blocks}, ref, cand)})
	}
	return out
}

// Failures returns the failed outcomes.
func Failures(outs []Outcome) []Outcome {
	var f []Outcome
	for _, o := range outs {
		if !o.Result.OK {
			f = append(f, o)
		}
	}
	return f
}

// Report writes every failure side by side, then the summary line
// "N passed, M failed". It returns M.
func Report(w io.Writer, outs []Outcome) int {
	failed := Failures(outs)
	for _, o := range failed {
		fmt.Fprintf(w, "FAIL %s\n  %s\n%s\n", o.Name, o.Result.Reason, o.Result.SideBySide(70))
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", len(outs)-len(failed), len(failed))
	return len(failed)
}
