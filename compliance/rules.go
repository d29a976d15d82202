package compliance

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"mytsdb/compliance/compare"
	"mytsdb/compliance/server"
)

// The rules phase (Rules) runs last: both servers reload the config with
// the same rule_files (RulesYAML), which record from the scraped fixture
// targets and alert on them and on a remote-written toggle. The toggle is
// switched on (the alert goes pending, then fires) and off (it resolves),
// and at each state /api/v1/rules (with its filters), /api/v1/alerts, the
// recording rules' output and the ALERTS / ALERTS_FOR_STATE series are
// compared. It runs after the corpus and the fresh phase so that its series
// are in no earlier case.
//
// Both servers evaluate on their own schedules, a moment apart: a case is
// asked again (for up to rulesSettle) until both answer alike, and the last
// answers are the outcome. Evaluation instants and durations differ by
// nature; the exemptions for /api/v1/rules and /api/v1/alerts name them.

// rulesSettle is how long a rules case may take to agree on both servers.
const rulesSettle = 15 * time.Second

// RulesYAML is the rule file both servers load.
const RulesYAML = `groups:
  - name: compliance-recording
    interval: 1s
    rules:
      - record: job:fixture_requests:sum
        expr: sum by (job) (fixture_requests_total)
      - record: fixture:temperature:max
        expr: max without (instance, room) (fixture_temperature)
        labels:
          source: rules
  - name: compliance-alerts
    interval: 1s
    rules:
      - alert: FlakyDown
        expr: up{job="flaky"} == 0
        labels:
          severity: warn
        annotations:
          summary: '{{ $labels.instance }} of {{ $labels.job }} is down'
      - alert: ToggleOn
        expr: rules_toggle > 0
        for: 2s
        labels:
          severity: page
        annotations:
          summary: 'toggle {{ $labels.name }} is {{ $value }}'
          description: 'external {{ $externalLabels }}'
      - alert: AlwaysPending
        expr: vector(1)
        for: 1h
        keep_firing_for: 5m
  - name: compliance-limited
    interval: 2s
    limit: 10
    labels:
      team: compliance
    rules:
      - record: two
        expr: vector(2)
`

// Rules runs the rules phase.
func (e *Env) Rules(ctx context.Context, refURL, candURL string) []Outcome {
	var outs []Outcome
	fail := func(name string, err error) []Outcome {
		return append(outs, Outcome{Name: "rules: " + name, Result: compare.Result{Reason: err.Error()}})
	}
	path := filepath.Join(e.dir, "rules.yml")
	if err := os.WriteFile(path, []byte(RulesYAML), 0o644); err != nil {
		return fail("write the rule file", err)
	}
	cfg := Config(e.Targets) + fmt.Sprintf("rule_files:\n  - %q\n", path)
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o644); err != nil {
		return fail("write the config", err)
	}
	for _, s := range []*server.Server{e.Ref, e.Cand} {
		if err := s.Reload(); err != nil {
			return fail("reload", err)
		}
	}

	var g guard
	settle := func(name, path string, q url.Values, m compare.Mode) {
		var res compare.Result
		deadline := time.Now().Add(rulesSettle)
		for {
			req := func(u string) compare.Response {
				hr, err := http.NewRequestWithContext(ctx, http.MethodGet, u+path+"?"+q.Encode(), nil)
				if err != nil {
					return compare.Response{Err: err}
				}
				return send(hr)
			}
			ref := req(refURL)
			cand := g.do(func() compare.Response { return req(candURL) })
			res = compare.Compare(path, m, ref, cand)
			if res.OK || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		outs = append(outs, Outcome{Name: "rules: " + name, Result: res})
	}
	// at is an evaluation instant both servers have passed: queries at it
	// read what each server's rules wrote in the lookback window before it.
	at := func() string {
		return strconv.FormatFloat(float64(time.Now().Add(-time.Second).UnixMilli())/1000, 'f', 3, 64)
	}
	compareAll := func(state string) {
		settle(state+" /api/v1/rules", "/api/v1/rules", nil, compare.Mode{})
		for _, v := range []url.Values{
			{"type": {"alert"}},
			{"type": {"record"}},
			{"rule_name[]": {"ToggleOn", "two"}},
			{"rule_group[]": {"compliance-alerts"}, "exclude_alerts": {"true"}},
			{"match[]": {`{severity="page"}`}},
			{"group_limit": {"2"}},
			{"type": {"bogus"}},
		} {
			settle(state+" /api/v1/rules?"+v.Encode(), "/api/v1/rules", v, compare.Mode{})
		}
		settle(state+" /api/v1/alerts", "/api/v1/alerts", nil, compare.Mode{})
		for _, query := range []string{
			`job:fixture_requests:sum`,
			`fixture:temperature:max`,
			`two`,
			`ALERTS`,
			`ALERTS_FOR_STATE > bool 0`, // the value is each server's activeAt
		} {
			// Unordered: the rules' series are created in the order each
			// server's evaluation appended them, ALERTS in the order of a
			// rule's map of active alerts.
			settle(state+" query "+query, "/api/v1/query", url.Values{"query": {query}, "time": {at()}}, compare.Mode{Unordered: true})
		}
	}

	// Both servers evaluate the rules and see the flaky target down.
	if err := waitBoth(ctx, refURL, candURL, `ALERTS{alertname="FlakyDown",alertstate="firing"} and on() job:fixture_requests:sum`, 30*time.Second); err != nil {
		return fail("rules evaluated", err)
	}
	toggle := func(v float64) []Outcome {
		body, err := toggleWrite(time.Now(), v)
		if err != nil {
			return fail("encode the toggle", err)
		}
		post := func(u string) compare.Response {
			hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u+"/api/v1/write", bytes.NewReader(body))
			if err != nil {
				return compare.Response{Err: err}
			}
			hr.Header.Set("Content-Type", "application/x-protobuf")
			hr.Header.Set("Content-Encoding", "snappy")
			hr.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
			return send(hr)
		}
		ref := post(refURL)
		cand := g.do(func() compare.Response { return post(candURL) })
		return append([]Outcome(nil), Outcome{Name: fmt.Sprintf("rules: remote write toggle=%g", v), Result: compare.Compare("/api/v1/write", compare.Mode{}, ref, cand)})
	}

	outs = append(outs, toggle(1)...)
	if err := waitBoth(ctx, refURL, candURL, `count(ALERTS{alertname="ToggleOn",alertstate="firing"}) == 2`, 30*time.Second); err != nil {
		return fail("toggle fires", err)
	}
	compareAll("firing")

	outs = append(outs, toggle(0)...)
	if err := waitBoth(ctx, refURL, candURL, `absent(ALERTS{alertname="ToggleOn"})`, 30*time.Second); err != nil {
		return fail("toggle resolves", err)
	}
	compareAll("resolved")
	return outs
}

// toggleWrite is a remote-write request setting rules_toggle{name="a"} to v
// and rules_toggle{name="b"} to 2v at t.
func toggleWrite(t time.Time, v float64) ([]byte, error) {
	ts := func(name string, v float64) prompb.TimeSeries {
		return prompb.TimeSeries{
			Labels:  []prompb.Label{{Name: "__name__", Value: "rules_toggle"}, {Name: "job", Value: "toggle"}, {Name: "name", Value: name}},
			Samples: []prompb.Sample{{Timestamp: t.UnixMilli(), Value: v}},
		}
	}
	raw, err := (&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{ts("a", v), ts("b", 2*v)}}).Marshal()
	if err != nil {
		return nil, err
	}
	return snappy.Encode(nil, raw), nil
}
