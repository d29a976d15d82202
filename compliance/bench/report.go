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
	Label      string
	Target     string // e.g. "≥ 3×"; "" if none
	Prometheus Cell
	Mytsdb     Cell
	Partial    bool // some run hit the ingest time cap
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
}

// Row returns the row of metric m for scenario index i, nil if none.
func (r *Report) Row(m Metric, sc Scenario) *Row {
	for _, row := range r.Rows {
		if row.Metric == m && row.Scenario == sc {
			return row
		}
	}
	return nil
}

func metricLabel(m Metric, sc Scenario) (label, target string) {
	switch m {
	case Ingest:
		return "ingest samples/s, " + sc.Name(), "≥ 3×"
	case CPUPerMillion:
		return "server CPU s per 1M samples, " + sc.Name(), "≤ 0.33×"
	case RSSPerSeries:
		return "peak RSS (VmHWM) bytes per active series, " + sc.Name(), "≤ 0.4×"
	case WALPerSample:
		return "WAL bytes per sample, " + sc.Name(), ""
	case RestartTime:
		return fmt.Sprintf("restart-to-ready s after %s samples (SIGKILL), %s", human(float64(sc.TotalSamples())), sc.Name()), "≤ 0.3×"
	case LoadgenCPU:
		return "load generator CPU µs per sample, " + sc.Name(), ""
	case RSSGrowth:
		return "peak RSS growth over the idle server, bytes per active series, " + sc.Name(), ""
	}
	return "?", ""
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
	return rows
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
	fmt.Fprintf(w, "- load: node_exporter-like series, %d senders, %d samples per request, one sample per series per round "+
		"(round 0 creates the series, untimed), %d A/B repeat(s) alternating prometheus, mytsdb; figures are medians "+
		"(± half the spread); both servers on 127.0.0.1 with the load generator on the same cores\n\n",
		c.Senders, c.BatchSize, c.Repeats)
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
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", label, formatCell(row.Metric, row.Prometheus),
			formatCell(row.Metric, row.Mytsdb), ratio, row.Target)
	}
	fmt.Fprintln(w)
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
	case Ingest, RSSPerSeries, RSSGrowth:
		return thousands(v)
	case RestartTime, CPUPerMillion:
		return fmt.Sprintf("%.2f", v)
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
