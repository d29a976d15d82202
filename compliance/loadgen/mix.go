package loadgen

import (
	"fmt"
	"math"
	"sort"
)

// Mix chooses the series of a load: their labels and how their values evolve.
// The zero value, MixNode, is the node_exporter-like set of SeriesLabels,
// SeriesKind and Value.
type Mix uint8

const (
	// MixNode is node_exporter-like series (the package's default).
	MixNode Mix = iota
	// MixStorage has MixNode's labels with FACTS.md's storage mix of values:
	// half integer counters with uneven increments (i%4 is 0 or 1), a quarter
	// 2-decimal gauges (i%4 == 2) and a quarter full-precision gauges
	// (i%4 == 3).
	MixStorage
	// MixDashboard is MixNode's host plus, per host, classic histograms
	// http_request_duration_seconds{handler} (12 buckets, _sum, _count) for 4
	// handlers: what histogram_quantile dashboards read.
	MixDashboard
)

func (m Mix) String() string {
	switch m {
	case MixNode:
		return "node"
	case MixStorage:
		return "storage"
	case MixDashboard:
		return "dashboard"
	}
	return fmt.Sprintf("Mix(%d)", int(m))
}

func (m Mix) valid() bool { return m <= MixDashboard }

// histHandlers and histBuckets shape MixDashboard's histograms; histFracs is
// the share of observations at or below each bucket's le (the last is +Inf).
var (
	histHandlers = []string{"/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/metrics"}
	histBuckets  = []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	histFracs    = []float64{0.04, 0.11, 0.24, 0.41, 0.6, 0.78, 0.9, 0.96, 0.985, 0.995, 0.999, 1}
)

var dashboardTemplate = buildDashboardTemplate()

func buildDashboardTemplate() []hostSeries {
	out := append([]hostSeries(nil), hostTemplate...)
	add := func(name string, kind Kind, group int, frac float64, extra ...Label) {
		ls := append([]Label{{"__name__", name}, {"instance", ""}, {"job", "node"}}, extra...)
		sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
		inst := -1
		for i, l := range ls {
			if l.Name == "instance" {
				inst = i
			}
		}
		out = append(out, hostSeries{labels: ls, kind: kind, inst: inst, group: group, frac: frac})
	}
	for g, h := range histHandlers {
		handler := Label{"handler", h}
		for k, le := range histBuckets {
			add("http_request_duration_seconds_bucket", HistBucket, g, histFracs[k], handler, Label{"le", le})
		}
		add("http_request_duration_seconds_sum", HistSum, g, 0, handler)
		add("http_request_duration_seconds_count", HistCount, g, 0, handler)
	}
	return out
}

func (m Mix) template() []hostSeries {
	if m == MixDashboard {
		return dashboardTemplate
	}
	return hostTemplate
}

// SeriesPerHost is the number of series one simulated host has in m.
func (m Mix) SeriesPerHost() int { return len(m.template()) }

// Labels returns the sorted labels of series i (series i belongs to host
// i/m.SeriesPerHost()). It allocates.
func (m Mix) Labels(i int) []Label {
	t := m.template()
	h := t[i%len(t)]
	ls := make([]Label, len(h.labels))
	copy(ls, h.labels)
	ls[h.inst].Value = Instance(i / len(t))
	return ls
}

// Kind returns how series i's values evolve in m.
func (m Mix) Kind(i int) Kind {
	if m == MixStorage {
		return [...]Kind{Counter, Counter, Gauge2, GaugeFull}[i%4]
	}
	t := m.template()
	return t[i%len(t)].kind
}

// Value returns the value series i has in round r in m.
func (m Mix) Value(i, r int) float64 {
	k := m.Kind(i)
	switch k {
	case HistBucket, HistSum, HistCount:
		t := m.template()
		h := t[i%len(t)]
		total := histTotal(i/len(t), h.group, r)
		switch k {
		case HistBucket:
			return math.Floor(total * h.frac)
		case HistSum:
			return total * 0.137
		}
		return total
	}
	return kindValue(k, i, r)
}

// histTotal is the observation count of histogram g of host h at round r:
// an integer counter with uneven increments, like Counter.
func histTotal(h, g, r int) float64 {
	s := mix(uint64(h)<<8 | uint64(g) | 0xb00c<<48)
	step := s&63 + 1
	jit := mix(s^uint64(r)) % step
	return float64(s>>48 + uint64(r)*step + jit)
}

// isCounter says whether series i gets the remote-write 2.0 metadata type
// counter (counters and histogram series) rather than gauge.
func (m Mix) isCounter(i int) bool {
	switch m.Kind(i) {
	case Counter, SecondsCounter, HistBucket, HistSum, HistCount:
		return true
	}
	return false
}

// Hosts returns how many hosts n series span in m (the last may be partial).
func (m Mix) Hosts(n int) int { return (n + m.SeriesPerHost() - 1) / m.SeriesPerHost() }
