package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Cell holds one server's figures for one row, one per A B round.
type Cell struct {
	Values []float64
	Errors []string
	Notes  []string // caveats of some values (e.g. the data could not be verified by a query)
}

// Median is the median of the values (NaN if none).
func (c Cell) Median() float64 {
	if len(c.Values) == 0 {
		return math.NaN()
	}
	v := slices.Clone(c.Values)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// Row is one metric of one scenario.
type Row struct {
	Metric     Metric
	Scenario   Scenario
	Key        string // block scenarios' rows: their identity (Scenario is then zero)
	Label      string
	Target     Target
	Prometheus Cell
	Mytsdb     Cell
	Partial    bool // some run hit the ingest time cap
}

// Target is a row's goal: Op X on the ratio mytsdb/Prometheus or, with
// OnMytsdb, on mytsdb's own figure. The zero Target is none.
type Target struct {
	Op       string // "≤" or "≥"; "" for none
	X        float64
	OnMytsdb bool
}

func atMost(x float64) Target  { return Target{Op: "≤", X: x} }
func atLeast(x float64) Target { return Target{Op: "≥", X: x} }

func (t Target) String() string {
	switch {
	case t.Op == "":
		return ""
	case t.OnMytsdb:
		return fmt.Sprintf("mytsdb %s %g", t.Op, t.X)
	}
	return fmt.Sprintf("%s %g×", t.Op, t.X)
}

// Verdict is "met" or "missed by N%" (how far the figure is beyond the
// bound, relative to it); "" if there is no target or no figure.
func (r Row) Verdict() string {
	t := r.Target
	v := r.Ratio()
	if t.OnMytsdb {
		v = r.Mytsdb.Median()
	}
	if t.Op == "" || math.IsNaN(v) {
		return ""
	}
	var miss float64
	switch t.Op {
	case "≤":
		miss = v/t.X - 1
	case "≥":
		miss = 1 - v/t.X
	}
	if miss <= 0 {
		return "met"
	}
	return fmt.Sprintf("missed by %.0f%%", math.Max(1, math.Round(miss*100)))
}

// Ratio is mytsdb's median over Prometheus's (NaN if either is missing).
func (r Row) Ratio() float64 {
	p, m := r.Prometheus.Median(), r.Mytsdb.Median()
	if math.IsNaN(p) || math.IsNaN(m) || p == 0 {
		return math.NaN()
	}
	return m / p
}

// Report is the result of a driver run.
type Report struct {
	Config  Config
	Machine Machine
	Rows    []*Row
	LoadEnd string // /proc/loadavg at the end
	// Notes are lines under the table: block layouts, result mismatches,
	// caveats of the block scenarios.
	Notes []string
}

// Row returns the row of metric m for scenario index i, nil if none.
func (r *Report) Row(m Metric, sc Scenario) *Row {
	for _, row := range r.Rows {
		if row.Key == "" && row.Metric == m && row.Scenario == sc {
			return row
		}
	}
	return nil
}

func metricLabel(m Metric, sc Scenario) (label string, target Target) {
	switch m {
	case Ingest:
		return "ingest samples/s, " + sc.Name(), atLeast(3)
	case CPUPerMillion:
		return "server CPU s per 1M samples, " + sc.Name(), atMost(0.33)
	case RSSPerSeries:
		return "peak RSS (VmHWM) bytes per active series, " + sc.Name(), atMost(0.4)
	case WALPerSample:
		return "WAL bytes per sample, " + sc.Name(), Target{}
	case RestartTime:
		return fmt.Sprintf("restart-to-ready s after %s samples (SIGKILL), %s", human(float64(sc.TotalSamples())), sc.Name()), atMost(0.3)
	case LoadgenCPU:
		return "load generator CPU µs per sample, " + sc.Name(), Target{}
	case RSSGrowth:
		return "peak RSS growth over the idle server, bytes per active series, " + sc.Name(), Target{}
	}
	return "?", Target{}
}

// buildRows lays out the rows grouped by metric, then scenario.
func buildRows(cfg Config) []*Row {
	var rows []*Row
	for _, m := range []Metric{Ingest, RSSPerSeries, RSSGrowth, CPUPerMillion, WALPerSample, RestartTime, LoadgenCPU} {
		for _, sc := range cfg.Scenarios {
			if m == RestartTime && !sc.Restart {
				continue
			}
			label, target := metricLabel(m, sc)
			rows = append(rows, &Row{Metric: m, Scenario: sc, Label: label, Target: target})
		}
	}
	for _, b := range cfg.Blocks {
		for _, spec := range b.rows() {
			rows = append(rows, &Row{Metric: spec.metric, Key: spec.key, Label: spec.label, Target: spec.target})
		}
	}
	return rows
}

// rowByKey returns the block scenario row of key, nil if none.
func (r *Report) rowByKey(key string) *Row {
	for _, row := range r.Rows {
		if row.Key == key {
			return row
		}
	}
	return nil
}

// addBlock records one block scenario run of one server.
func (r *Report) addBlock(b BlockScenario, mytsdb bool, o *blockOutcome) {
	for _, spec := range b.rows() {
		row := r.rowByKey(spec.key)
		if row == nil {
			continue
		}
		c := &row.Prometheus
		if mytsdb {
			c = &row.Mytsdb
		}
		if v, ok := o.values[spec.key]; ok {
			c.Values = append(c.Values, v)
		} else if err := o.errs[spec.key]; err != nil {
			c.Errors = append(c.Errors, err.Error())
		}
	}
	who := "prometheus"
	if mytsdb {
		who = "mytsdb"
	}
	for _, n := range o.notes {
		r.Notes = append(r.Notes, fmt.Sprintf("%s, %s: %s", b.Kind, who, n))
	}
}

func (r *Report) add(sc Scenario, mytsdb bool, o *outcome) {
	for _, m := range scenarioMetrics(sc) {
		row := r.Row(m, sc)
		if row == nil {
			continue
		}
		c := &row.Prometheus
		if mytsdb {
			c = &row.Mytsdb
		}
		if v, ok := o.values[m]; ok {
			c.Values = append(c.Values, v)
			if o.unverified != "" {
				c.Notes = append(c.Notes, o.unverified)
			}
		} else if err := o.errs[m]; err != nil {
			c.Errors = append(c.Errors, err.Error())
		}
		if o.partial && m != RestartTime {
			row.Partial = true
		}
	}
}

// WriteMarkdown writes the machine info and the table.
func (r *Report) WriteMarkdown(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "## %s — commit %s (%s mode)\n\n", m.Date.Format("2006-01-02 15:04 UTC"), m.Commit, r.Config.Mode)
	fmt.Fprintf(w, "- machine: %s, %d cores, %.1f GiB, Linux %s; %s; load average %s at start, %s at end\n",
		m.CPU, m.Cores, m.MemoryGiB, m.Kernel, m.GoVersion, m.LoadAvg, r.LoadEnd)
	fmt.Fprintf(w, "- prometheus: %s; mytsdb: %s\n", m.Prometheus, m.Mytsdb)
	c := r.Config
	if len(c.Scenarios) > 0 {
		fmt.Fprintf(w, "- load: node_exporter-like series, %d senders, %d samples per request, one sample per series per round "+
			"(round 0 creates the series, untimed), %d A/B repeat(s) alternating prometheus, mytsdb; figures are medians "+
			"(± half the spread); both servers on 127.0.0.1 with the load generator on the same cores\n",
			c.Senders, c.BatchSize, c.Repeats)
	} else {
		fmt.Fprintln(w, "- ingest scenarios: not run (-only)")
	}
	if len(c.Blocks) > 0 {
		fmt.Fprintf(w, "- block scenarios (%d run(s) per server, alternating): synthetic timestamps in the past, all senders in lockstep "+
			"(one round at a time: the out-of-bounds rule of short blocks), both servers given the same "+
			"--storage.tsdb.min/max-block-duration; a sampler reads VmRSS, the acknowledged samples and the block directories every %s "+
			"(a block is being written while a <ULID>.tmp-for-creation directory exists: head cut or compaction); "+
			"histograms are classic (_bucket/_sum/_count), not native; latencies are request to body read, after one untimed warm-up; "+
			"restart is SIGKILL, start, /-/ready and a query that sees the last sample\n",
			c.BlockRepeats, sampleEvery)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| metric | prometheus | mytsdb | mytsdb/prometheus | target |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, row := range r.Rows {
		label := row.Label
		if row.Partial {
			label += " (partial: hit the ingest time cap)"
		}
		ratio := "—"
		if x := row.Ratio(); !math.IsNaN(x) {
			ratio = fmt.Sprintf("%.2f×", x)
		}
		target := row.Target.String()
		if v := row.Verdict(); v != "" {
			target += ": " + v
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", label, formatCell(row.Metric, row.Prometheus),
			formatCell(row.Metric, row.Mytsdb), ratio, target)
	}
	fmt.Fprintln(w)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
	}
}

func formatCell(m Metric, c Cell) string {
	if len(c.Values) == 0 {
		if len(c.Errors) == 0 {
			return "—"
		}
		return "error: " + oneLine(c.Errors[0], 160)
	}
	med := c.Median()
	s := formatValue(m, med)
	if len(c.Values) > 1 && med != 0 {
		lo, hi := slices.Min(c.Values), slices.Max(c.Values)
		s += fmt.Sprintf(" ±%.0f%%", (hi-lo)/2/math.Abs(med)*100)
	}
	if len(c.Errors) > 0 {
		s += fmt.Sprintf(" (%d error(s): %s)", len(c.Errors), oneLine(c.Errors[0], 80))
	}
	if len(c.Notes) > 0 {
		s += " (" + oneLine(c.Notes[0], 100) + ")"
	}
	return s
}

func formatValue(m Metric, v float64) string {
	switch m {
	case Ingest, RSSPerSeries, RSSGrowth, Count:
		return thousands(v)
	case RestartTime, CPUPerMillion, Ratio, BytesPerSample:
		return fmt.Sprintf("%.2f", v)
	case Millis:
		if v >= 100 {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.3g", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// thousands formats v rounded to an integer with thin separators: 372,118.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// human writes 200000 as 200k and 1000000 as 1M.
func human(v float64) string {
	switch {
	case v >= 1e6 && math.Mod(v, 1e5) == 0:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v/1e6), ".0") + "M"
	case v >= 1e3 && math.Mod(v, 100) == 0:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v/1e3), ".0") + "k"
	}
	return fmt.Sprintf("%.0f", v)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "|", "/")), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
