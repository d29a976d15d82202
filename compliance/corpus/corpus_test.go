package corpus

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseAndResolve(t *testing.T) {
	const base = 1_700_000_000_000
	src := `# comment

instant +10m sum(rate(x[5m])) @ {+5m}
range -1m +1h1ms 15s x
unordered instant abc count_values("v", x)
api POST /api/v1/series match[]=up{a="b c"}&match[]=x&start={+0m}
scrapeapi GET /api/v1/targets
scrape up
range +0m +45m 1m 
`
	cases, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 7 {
		t.Fatalf("got %d cases", len(cases))
	}
	want := []struct {
		line         int
		method, path string
		params       url.Values
		unordered    bool
	}{
		{3, "GET", "/api/v1/query", url.Values{"query": {"sum(rate(x[5m])) @ 1700000300"}, "time": {"1700000600"}}, false},
		{4, "GET", "/api/v1/query_range", url.Values{"query": {"x"}, "start": {"1699999940"}, "end": {"1700003600.001"}, "step": {"15s"}}, false},
		{5, "GET", "/api/v1/query", url.Values{"query": {`count_values("v", x)`}, "time": {"abc"}}, true},
		{6, "POST", "/api/v1/series", url.Values{"match[]": {`up{a="b c"}`, "x"}, "start": {"1700000000"}}, false},
		{7, "GET", "/api/v1/targets", url.Values{}, false},
		{8, "GET", "/api/v1/query", url.Values{"query": {"up"}}, false},
		{9, "GET", "/api/v1/query_range", url.Values{"query": {""}, "start": {"1700000000"}, "end": {"1700002700"}, "step": {"1m"}}, false},
	}
	for i, w := range want {
		c := cases[i]
		r := c.Resolve(base)
		if c.Line != w.line || r.Method != w.method || r.Path != w.path || r.Params.Encode() != w.params.Encode() || c.Unordered != w.unordered {
			t.Errorf("case %d: got line %d %s %s %v unordered=%v, want %+v", i, c.Line, r.Method, r.Path, r.Params, c.Unordered, w)
		}
	}
	if u, body := cases[3].Resolve(base).Encode("http://h"); u != "http://h/api/v1/series" || !strings.Contains(body, "match%5B%5D=up%7Ba%3D%22b+c%22%7D") {
		t.Errorf("POST encoding: %s %s", u, body)
	}
	if cases[4].Structural() != true || cases[0].Structural() {
		t.Error("Structural wrong")
	}
}

func TestParseErrors(t *testing.T) {
	for _, line := range []string{"bogus x", "instant", "range +0m", "api PUT /x", "api GET nopath", "api GET"} {
		if _, err := Parse(strings.NewReader(line)); err == nil {
			t.Errorf("%q: no error", line)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"instant +1m x", "range +0m +1m 1m y", "api GET /a b=c&d", "scrape up", "unordered instant {+1h} z{a=\"{+5m}\"}", "# c\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cases, err := Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, c := range cases {
			r := c.Resolve(1_700_000_000_000)
			_, _ = r.Encode("http://127.0.0.1:1")
		}
	})
}
