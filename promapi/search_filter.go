package promapi

import (
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/strutil"
)

// The search API's relevance scoring, as Prometheus 3.16 scores
// (web/api/v1/search_filters.go; the matchers themselves are upstream's
// util/strutil): the scores are part of the JSON, so they must be the same
// numbers.
//
// A term accepts a value
//   - with fuzz_alg=subsequence (the default): when the value starts with the
//     term (score 1), else by strutil's subsequence score, which must be
//     positive and at least the threshold;
//   - with fuzz_alg=jarowinkler: when the term is a substring (score 1 at the
//     start, falling linearly to 0.1 at the last possible position, counted
//     in runes unless both strings are ASCII), else, with a threshold above 0,
//     by the Jaro-Winkler similarity reaching the threshold.
//
// Several terms accept a value when any does, with the best score; without
// case_sensitive the terms are lowercased once and each value before scoring.

// searchTerm scores a value against one search[] term.
type searchTerm struct {
	term        string
	subsequence *strutil.SubsequenceMatcher // fuzz_alg=subsequence
	jaro        *strutil.JaroWinklerMatcher // fuzz_alg=jarowinkler and a threshold > 0
	threshold   float64
}

func (t *searchTerm) accept(v string) (bool, float64) {
	if t.subsequence != nil {
		if strings.HasPrefix(v, t.term) {
			return true, 1
		}
		s := t.subsequence.Score(v)
		return s > 0 && s >= t.threshold, s
	}
	if ok, s := substringScore(t.term, v); ok {
		return true, s
	}
	if t.jaro != nil {
		s := t.jaro.Score(v)
		return s >= t.threshold, s
	}
	return false, 0
}

// substringScore is the jarowinkler algorithm's substring score.
func substringScore(term, v string) (bool, float64) {
	i := strings.Index(v, term)
	switch {
	case i < 0:
		return false, 0
	case i == 0:
		return true, 1
	}
	pos, last := i, len(v)-len(term)
	if !isASCII(term) || !isASCII(v) {
		pos = utf8.RuneCountInString(v[:i])
		last = utf8.RuneCountInString(v) - utf8.RuneCountInString(term)
	}
	if last <= 0 {
		return true, 1
	}
	return true, 1 - 0.9*float64(pos)/float64(last)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// searchFilter is the storage.Filter of one request: every term, the case
// folding, and a bounded memo of the values already scored (a value reaches
// the filter once per querier it is found in).
type searchFilter struct {
	terms      []searchTerm
	foldCase   bool
	memo       map[string]searchScore // nil: scoring is cheap, not memoised
	memoBytes  int
	memoLimit  int
	memoBudget int
}

type searchScore struct {
	ok    bool
	score float64
}

var _ storage.Filter = (*searchFilter)(nil)

// newSearchFilter builds the filter of search[] terms; empty terms are
// skipped and nil is returned when none remains (no filtering). memo asks
// for the memo of fuzzy scores, worth it only when a value may reach the
// filter several times (a storage.Searcher scoring block by block); a
// single sorted list of values is scored once per value anyway.
func newSearchFilter(searches []string, threshold int, alg string, caseSensitive, memo bool) storage.Filter {
	f := &searchFilter{foldCase: !caseSensitive}
	th := float64(threshold) / 100
	for _, s := range searches {
		if s == "" {
			continue
		}
		if f.foldCase {
			s = strings.ToLower(s)
		}
		t := searchTerm{term: s, threshold: th}
		switch {
		case alg == fuzzSubsequence:
			t.subsequence = strutil.NewSubsequenceMatcher(s)
		case threshold > 0:
			t.jaro = strutil.NewJaroWinklerMatcher(s)
		}
		f.terms = append(f.terms, t)
	}
	if len(f.terms) == 0 {
		return nil
	}
	// Substring scoring is as cheap as a map lookup; the fuzzy scores are
	// not. The memo is bounded (Prometheus's 100k values, 10 MiB of keys).
	if memo && (alg == fuzzSubsequence || threshold > 0) {
		f.memo = map[string]searchScore{}
		f.memoLimit, f.memoBudget = 100_000, 10<<20
	}
	return f
}

// Accept implements storage.Filter.
func (f *searchFilter) Accept(v string) (bool, float64) {
	if f.memo != nil {
		if e, ok := f.memo[v]; ok {
			return e.ok, e.score
		}
	}
	key := v
	if f.foldCase {
		v = strings.ToLower(v)
	}
	ok, score := f.score(v)
	if f.memo != nil && len(f.memo) < f.memoLimit && f.memoBytes+len(key) <= f.memoBudget {
		f.memo[key] = searchScore{ok, score}
		f.memoBytes += len(key)
	}
	return ok, score
}

// score is the best score of the terms accepting v; it stops at a perfect one.
func (f *searchFilter) score(v string) (bool, float64) {
	if len(f.terms) == 1 {
		return f.terms[0].accept(v)
	}
	accepted, best := false, 0.0
	for i := range f.terms {
		ok, s := f.terms[i].accept(v)
		if !ok {
			continue
		}
		accepted = true
		if s > best {
			best = s
		}
		if best >= 1 {
			break
		}
	}
	return accepted, best
}
