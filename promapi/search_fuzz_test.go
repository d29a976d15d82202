package promapi

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSearchFilter: no input panics the scoring; a score of valid UTF-8 is
// within [0, 1];
// a value starting with the term is accepted with score 1 by either
// algorithm (a prefix is a subsequence match and a substring at position 0);
// case folding accepts what the lowercased value would.
func FuzzSearchFilter(f *testing.F) {
	f.Add("req", "test_requests_total", true, 0, true, true)
	f.Add("é", "xé", false, 50, false, false)
	f.Add("Go", "go_gc", true, 90, false, true)
	f.Add("\xff", "a\xffb", false, 10, true, false)
	f.Fuzz(func(t *testing.T, term, value string, subsequence bool, threshold int, caseSensitive, memo bool) {
		alg := "jarowinkler"
		if subsequence {
			alg = fuzzSubsequence
		}
		threshold = ((threshold % 101) + 101) % 101
		flt := newSearchFilter([]string{term}, threshold, alg, caseSensitive, memo)
		if term == "" {
			if flt != nil {
				t.Fatal("an empty term filters")
			}
			return
		}
		ok, s := flt.Accept(value)
		// (Invalid UTF-8 can score below 0, in Prometheus too: its rune
		// counts of the parts need not add up.)
		if ok && (s < 0 || s > 1) && utf8.ValidString(term) && utf8.ValidString(value) {
			t.Fatalf("score %v out of range", s)
		}
		if ok2, s2 := flt.Accept(value); ok2 != ok || s2 != s {
			t.Fatalf("memoised answer differs: %v %v then %v %v", ok, s, ok2, s2)
		}
		if caseSensitive {
			if ok, s := flt.Accept(term + value); !ok || s != 1 {
				t.Fatalf("prefix %q of %q: %v %v", term, term+value, ok, s)
			}
		} else if strings.ToLower(term) == term {
			if ok, s := flt.Accept(strings.ToUpper(term) + value); strings.ToLower(strings.ToUpper(term)) == term && (!ok || s != 1) {
				t.Fatalf("folded prefix %q: %v %v", term, ok, s)
			}
		}
	})
}

// FuzzSearchParams: any query string is parsed without a panic, and every
// rejection is a bad_data error (a 400), as in Prometheus.
func FuzzSearchParams(f *testing.F) {
	f.Add("search[]=a&limit=10&batch_size=3&sort_by=alpha&sort_dir=dsc")
	f.Add("fuzz_threshold=100&fuzz_alg=jarowinkler&case_sensitive=false&match[]=up")
	f.Add("start=5&end=1&limit=99999999999999999999")
	a := New(Options{MaxSearchLimit: 50})
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/api/v1/search/label_names", nil)
		r.URL.RawQuery = q
		if err := r.ParseForm(); err != nil {
			return
		}
		sp, e := a.parseSearchParams(r)
		if e != nil {
			if e.typ != errorBadData {
				t.Fatalf("%q: error type %s", q, e.typ)
			}
			return
		}
		if sp.limit <= 0 || sp.limit > 50 || sp.batchSize <= 0 || sp.batchSize > sp.limit {
			t.Fatalf("%q: limit %d, batch %d", q, sp.limit, sp.batchSize)
		}
	})
}
