package promapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// The default bounds of optional time ranges. They are Prometheus's values
// (deliberately not the int64 extremes; clients send them back formatted).
var (
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()

	minTimeFormatted = minTime.Format(time.RFC3339Nano)
	maxTimeFormatted = maxTime.Format(time.RFC3339Nano)
)

// parseTime parses a timestamp given as float seconds since the epoch
// (rounded to milliseconds), as RFC 3339, or as the formatted default bounds.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		frac = math.Round(frac*1000) / 1000
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	switch s {
	case minTimeFormatted:
		return minTime, nil
	case maxTimeFormatted:
		return maxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// timeParam reads an optional time parameter.
func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time value for '%s': %w", name, err)
	}
	return t, nil
}

// parseDuration parses float seconds or a Prometheus duration ("5m", "1h30m").
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		ns := f * float64(time.Second)
		if math.IsNaN(ns) || ns >= float64(math.MaxInt64) || ns < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ns), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// parseLimit parses the limit parameter: empty is 0 (no limit), negative is an error.
func parseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return n, err
	}
	if n < 0 {
		return n, errors.New("limit must be non-negative")
	}
	return n, nil
}

// hintLimit asks storage for one more than the limit, so truncation is detectable.
func hintLimit(limit int) int {
	if limit > 0 && limit < math.MaxInt {
		return limit + 1
	}
	return limit
}

// parseMatchers parses match[] selectors; each set needs one matcher that
// does not match the empty string.
func (a *API) parseMatchers(sel []string) ([][]*labels.Matcher, error) {
	sets, err := a.parser.ParseMetricSelectors(sel)
	if err != nil {
		return nil, err
	}
	for _, set := range sets {
		if !hasNonEmptyMatcher(set) {
			return nil, errors.New("match[] must contain at least one non-empty matcher")
		}
	}
	return sets, nil
}

func hasNonEmptyMatcher(set []*labels.Matcher) bool {
	for _, m := range set {
		if m != nil && !m.Matches("") {
			return true
		}
	}
	return false
}

// labelNameKey carries the :name of /label/:name/values.
type labelNameKey struct{}

func withLabelName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, labelNameKey{}, name)
}

func labelNameFrom(ctx context.Context) string {
	s, _ := ctx.Value(labelNameKey{}).(string)
	return s
}
