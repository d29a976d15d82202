// Package targets serves the fixture scrape targets both servers of the
// compliance harness scrape: fixed text expositions on 127.0.0.1 (httptest),
// and one target that can be made to disappear so that both servers mark its
// series stale. Values are constant so results can be compared; scrape
// timestamps differ between the servers, so callers compare structure.
//
// It owns only its HTTP listeners.
package targets

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
)

// Static is the exposition of the "static" target: every metric type, HELP
// and TYPE metadata, labels that collide with target labels (job, instance)
// for honor_labels, and unicode label values.
const Static = `# HELP fixture_requests_total Requests served.
# TYPE fixture_requests_total counter
fixture_requests_total{path="/a",code="200"} 10
fixture_requests_total{path="/b",code="500"} 3
# HELP fixture_temperature Temperature in the fixture room.
# TYPE fixture_temperature gauge
fixture_temperature{room="ünïcødé ☃"} 21.5
fixture_temperature{room="quote\"backslash\\"} -4
# HELP fixture_latency_seconds Request latency.
# TYPE fixture_latency_seconds histogram
fixture_latency_seconds_bucket{le="0.1"} 1
fixture_latency_seconds_bucket{le="1"} 5
fixture_latency_seconds_bucket{le="+Inf"} 7
fixture_latency_seconds_sum 4.5
fixture_latency_seconds_count 7
# HELP fixture_rpc_seconds RPC latency summary.
# TYPE fixture_rpc_seconds summary
fixture_rpc_seconds{quantile="0.5"} 0.2
fixture_rpc_seconds{quantile="0.99"} 0.9
fixture_rpc_seconds_sum 12
fixture_rpc_seconds_count 40
# HELP fixture_exported Carries job and instance labels of its own.
# TYPE fixture_exported gauge
fixture_exported{job="inner",instance="inner:1"} 1
# TYPE fixture_untyped untyped
fixture_untyped 42
`

// Second is the exposition of the "second" target, used with relabelling.
const Second = `# HELP fixture_second_info Info about the second target.
# TYPE fixture_second_info gauge
fixture_second_info{version="2.0",drop_me="x"} 1
# HELP fixture_requests_total Requests served.
# TYPE fixture_requests_total counter
fixture_requests_total{path="/c",code="200"} 99
# TYPE fixture_dropped gauge
fixture_dropped 1
`

// Flaky is the exposition of the target that disappears.
const Flaky = `# HELP fixture_flaky_up Present while the flaky target is up.
# TYPE fixture_flaky_up gauge
fixture_flaky_up{state="alive"} 1
`

// Set is the running fixture targets.
type Set struct {
	Static, Second, Flaky *httptest.Server
	gone                  atomic.Bool
}

// Start starts the three fixture targets on 127.0.0.1.
func Start() *Set {
	s := &Set{}
	s.Static = httptest.NewServer(serve(Static, nil))
	s.Second = httptest.NewServer(serve(Second, nil))
	s.Flaky = httptest.NewServer(serve(Flaky, &s.gone))
	return s
}

// Disappear makes the flaky target answer 503 from now on: its scrapes fail,
// up becomes 0 and its series are marked stale.
func (s *Set) Disappear() { s.gone.Store(true) }

// Close stops every target.
func (s *Set) Close() {
	s.Static.Close()
	s.Second.Close()
	s.Flaky.Close()
}

// Host returns host:port of a target (what goes into static_configs).
func Host(ts *httptest.Server) string { return strings.TrimPrefix(ts.URL, "http://") }

func serve(body string, gone *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gone != nil && gone.Load() {
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(body))
	})
}
