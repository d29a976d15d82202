package promapi

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

func TestParseTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{in: "0", want: time.Unix(0, 0).UTC()},
		{in: "1795708800", want: time.Unix(1795708800, 0).UTC()},
		{in: "1795708800.1234", want: time.Unix(1795708800, 123e6).UTC()},
		{in: "1795708800.1235", want: time.Unix(1795708800, 124e6).UTC()},
		{in: "-1.5", want: time.Unix(-1, -5e8).UTC()},
		{in: "1e3", want: time.Unix(1000, 0).UTC()},
		{in: "2026-11-26T16:00:00Z", want: time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC)},
		{in: "2026-11-26T17:00:00.5+01:00", want: time.Date(2026, 11, 26, 16, 0, 0, 5e8, time.UTC)},
		{in: minTimeFormatted, want: minTime},
		{in: maxTimeFormatted, want: maxTime},
		{in: "", err: `cannot parse "" to a valid timestamp`},
		{in: "yesterday", err: `cannot parse "yesterday" to a valid timestamp`},
		{in: "2026-11-26", err: `cannot parse "2026-11-26" to a valid timestamp`},
	} {
		got, err := parseTime(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("parseTime(%q) error = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// FuzzParseTime: never panics; float seconds land on the millisecond they
// round to; RFC 3339 input parses to the instant it names.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"0", "1.5", "-3.0001", "1e9", "NaN", "Inf", "2026-11-26T16:00:00Z", "2026-11-26T16:00:00.123456789-07:00", minTimeFormatted, "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime(s)
		if fl, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			if err != nil {
				t.Fatalf("parseTime(%q): %v", s, err)
			}
			if math.IsNaN(fl) || math.IsInf(fl, 0) || math.Abs(fl) > 1e15 {
				return // outside time.Unix's exact range; only "no panic" holds
			}
			sec, frac := math.Modf(fl)
			wantMs := int64(sec)*1000 + int64(math.Round(frac*1000))
			if got.UnixMilli() != wantMs || got.Nanosecond()%1e6 != 0 {
				t.Fatalf("parseTime(%q) = %v (%d ms), want %d ms", s, got, got.UnixMilli(), wantMs)
			}
			return
		}
		if want, perr := time.Parse(time.RFC3339Nano, s); perr == nil {
			if err != nil || !got.Equal(want) {
				t.Fatalf("parseTime(%q) = %v, %v; want %v", s, got, err, want)
			}
			return
		}
		if err == nil && s != minTimeFormatted && s != maxTimeFormatted {
			t.Fatalf("parseTime(%q) accepted %v", s, got)
		}
	})
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "15", want: 15 * time.Second},
		{in: "0.5", want: 500 * time.Millisecond},
		{in: "-1", want: -time.Second},
		{in: "15s", want: 15 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "1d", want: 24 * time.Hour},
		{in: "1e300", err: `cannot parse "1e300" to a valid duration. It overflows int64`},
		{in: "NaN", err: `cannot parse "NaN" to a valid duration. It overflows int64`},
		{in: "1x", err: `cannot parse "1x" to a valid duration`},
		{in: "", err: `cannot parse "" to a valid duration`},
	} {
		got, err := parseDuration(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("parseDuration(%q) error = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// FuzzParseDuration: never panics; agrees with float seconds or with
// model.ParseDuration, whichever applies first, and rejects the rest.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"15", "0.001", "-2", "1e18", "5m", "1h30m", "1y", "NaN", "+Inf", "1.5s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseDuration(s)
		if fl, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			ns := fl * float64(time.Second)
			if math.IsNaN(ns) || ns >= math.MaxInt64 || ns < math.MinInt64 {
				if err == nil {
					t.Fatalf("parseDuration(%q) = %v, want overflow error", s, got)
				}
				return
			}
			if err != nil || got != time.Duration(ns) {
				t.Fatalf("parseDuration(%q) = %v, %v; want %v", s, got, err, time.Duration(ns))
			}
			return
		}
		if d, merr := model.ParseDuration(s); merr == nil {
			if err != nil || got != time.Duration(d) {
				t.Fatalf("parseDuration(%q) = %v, %v; want %v", s, got, err, time.Duration(d))
			}
			return
		}
		if err == nil {
			t.Fatalf("parseDuration(%q) accepted %v", s, got)
		}
	})
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]int{"": 0, "0": 0, "5": 5} {
		if got, err := parseLimit(in); err != nil || got != want {
			t.Errorf("parseLimit(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"-1", "x", "1.5", "99999999999999999999"} {
		if _, err := parseLimit(in); err == nil {
			t.Errorf("parseLimit(%q) accepted", in)
		}
	}
}

// FuzzParseMatchers: never panics; an accepted set has a matcher that does
// not match "", and printing the matchers and parsing them again gives the
// same matchers.
func FuzzParseMatchers(f *testing.F) {
	for _, s := range []string{`up`, `{job="a"}`, `{job=""}`, `{__name__=~"a|b",x!~"y.*"}`, `{"utf8.name"}`, `x{`, `{a=~"("}`, `{}`} {
		f.Add(s)
	}
	a := New(Options{})
	f.Fuzz(func(t *testing.T, s string) {
		sets, err := a.parseMatchers([]string{s})
		if err != nil {
			return
		}
		if len(sets) != 1 || !hasNonEmptyMatcher(sets[0]) {
			t.Fatalf("parseMatchers(%q) = %v: no non-empty matcher", s, sets)
		}
		var parts []string
		for _, m := range sets[0] {
			parts = append(parts, m.String())
		}
		again, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + strings.Join(parts, ",") + "}")
		if err != nil {
			t.Fatalf("re-parsing %q (from %q): %v", parts, s, err)
		}
		if len(again) != len(sets[0]) {
			t.Fatalf("re-parsing %q: %d matchers, want %d", parts, len(again), len(sets[0]))
		}
		for i := range again {
			if again[i].String() != sets[0][i].String() {
				t.Fatalf("re-parsing %q: matcher %d is %s, want %s", parts, i, again[i], sets[0][i])
			}
		}
	})
}

func TestValidateTenant(t *testing.T) {
	for _, ok := range []string{"default", "a", "team-1.prod_x", strings.Repeat("a", 150)} {
		if err := validateTenant(ok); err != nil {
			t.Errorf("validateTenant(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a b", "é", strings.Repeat("a", 151), "a\x00"} {
		if err := validateTenant(bad); err == nil {
			t.Errorf("validateTenant(%q) accepted", bad)
		}
	}
}
