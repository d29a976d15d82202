package block

import (
	"context"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// Postings are handled as sorted slices of series refs: a block's lists are
// decoded whole, and set operations are merges.

func intersect(a, b []SeriesRef) []SeriesRef {
	out := a[:0]
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// without returns a minus b, reusing a.
func without(a, b []SeriesRef) []SeriesRef {
	out := a[:0]
	j := 0
	for _, r := range a {
		for j < len(b) && b[j] < r {
			j++
		}
		if j < len(b) && b[j] == r {
			continue
		}
		out = append(out, r)
	}
	return out
}

// union merges lists into one sorted list without duplicates.
func union(lists [][]SeriesRef) []SeriesRef {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]SeriesRef, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// postingsFor returns the union of the postings of name's values that
// pass match (a nil match takes every value).
func (r *indexReader) postingsFor(ctx context.Context, name string, match func(string) bool) ([]SeriesRef, error) {
	var (
		lists [][]SeriesRef
		err   error
		n     int
	)
	r.forEachValue(name, func(value string, off int64) bool {
		if n++; n%1024 == 0 && ctx.Err() != nil {
			err = ctx.Err()
			return false
		}
		if match != nil && !match(value) {
			return true
		}
		var l []SeriesRef
		l, err = r.postingsAt(nil, off)
		lists = append(lists, l)
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return union(lists), nil
}

// postingsForValues returns the union of name=v for each v of values.
func (r *indexReader) postingsForValues(name string, values []string) ([]SeriesRef, error) {
	var lists [][]SeriesRef
	for _, v := range values {
		off, ok := r.postingsOffset(name, v)
		if !ok {
			continue
		}
		l, err := r.postingsAt(nil, off)
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	}
	return union(lists), nil
}

// matching returns the series that have name set to a value passing m.
func (r *indexReader) matching(ctx context.Context, m *labels.Matcher) ([]SeriesRef, error) {
	switch {
	case m.Type == labels.MatchEqual:
		return r.postingsForValues(m.Name, []string{m.Value})
	case m.Type == labels.MatchRegexp && len(m.SetMatches()) > 0:
		return r.postingsForValues(m.Name, m.SetMatches())
	case m.Type == labels.MatchRegexp && (m.Value == ".+" || m.Value == ".*"):
		return r.postingsFor(ctx, m.Name, nil)
	}
	return r.postingsFor(ctx, m.Name, m.Matches)
}

// postingsForMatchers returns the sorted refs of the series that every
// matcher selects, with Prometheus's semantics: a matcher that matches the
// empty string also selects the series that lack its label.
func (r *indexReader) postingsForMatchers(ctx context.Context, ms ...*labels.Matcher) ([]SeriesRef, error) {
	var (
		base     []SeriesRef
		haveBase bool
		subtract [][]SeriesRef
	)
	for _, m := range ms {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if m.Type == labels.MatchRegexp && m.Value == ".*" {
			continue // matches every series, with or without the label
		}
		if m.Type == labels.MatchNotRegexp && m.Value == ".*" {
			return []SeriesRef{}, nil
		}
		if m.Matches("") {
			// Every series except those whose value of the label fails m.
			inv, err := r.inverse(ctx, m)
			if err != nil {
				return nil, err
			}
			subtract = append(subtract, inv)
			continue
		}
		p, err := r.matching(ctx, m)
		if err != nil {
			return nil, err
		}
		if !haveBase {
			base, haveBase = p, true
		} else {
			base = intersect(base, p)
		}
		if len(base) == 0 {
			return []SeriesRef{}, nil
		}
	}
	if !haveBase {
		all, err := r.allSeries()
		if err != nil {
			return nil, err
		}
		base = all
	}
	for _, s := range subtract {
		base = without(base, s)
	}
	if base == nil {
		base = []SeriesRef{}
	}
	return base, nil
}

// inverse returns the series that have m's label set to a value failing m.
func (r *indexReader) inverse(ctx context.Context, m *labels.Matcher) ([]SeriesRef, error) {
	switch m.Type {
	case labels.MatchNotEqual:
		return r.postingsForValues(m.Name, []string{m.Value})
	case labels.MatchNotRegexp:
		if sm := m.SetMatches(); len(sm) > 0 {
			return r.postingsForValues(m.Name, sm)
		}
	case labels.MatchEqual:
		if m.Value == "" {
			return r.postingsFor(ctx, m.Name, nil)
		}
	}
	return r.postingsFor(ctx, m.Name, func(v string) bool { return !m.Matches(v) })
}
