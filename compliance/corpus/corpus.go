// Package corpus reads the compliance corpus: one case per line of a text
// file (testdata/queries.txt), each an instant query, a range query, an API
// request or a scrape check, with times written relative to the data set's
// base time. It owns the file format only; it sends nothing.
//
// Format (fields separated by single spaces; the last field is the rest of
// the line and may hold spaces):
//
//	instant <time> <promql>
//	range <start> <end> <step> <promql>
//	api <GET|POST> <path> [<k=v&k=v...>]
//	scrape <promql>                       instant query at the server's now, compared structurally
//	scrapeapi <GET|POST> <path> [<params>] API request on scraped state, compared structurally
//
// A <time> of the form +10m, -1h30s or +5m1ms means base plus that duration;
// anything else ("abc", "1e20") is sent as written. Inside a PromQL expression
// or a parameter value, {+10m} is replaced by that time in Unix seconds.
// Parameter values are written raw and URL-encoded by the harness; a
// parameter may repeat (match[]=a&match[]=b). A parameter named
// header:Name is sent as the HTTP header Name instead (header:Accept=x/y). Lines starting with # and
// blank lines are ignored. A line starting with "unordered " marks a case
// whose result order Prometheus itself leaves undefined (map order): its
// series are compared as a set (see compare.Exemptions).
package corpus

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is the kind of a case.
type Kind string

const (
	Instant   Kind = "instant"
	Range     Kind = "range"
	API       Kind = "api"
	Scrape    Kind = "scrape"
	ScrapeAPI Kind = "scrapeapi"
)

// Case is one line of the corpus.
type Case struct {
	Line int
	Kind Kind
	Text string // the line as written
	// Unordered marks a case whose result order Prometheus leaves
	// undefined (written as a leading "unordered " on the line).
	Unordered bool

	method, path string
	params       []param // raw key/value pairs, before substitution
}

type param struct {
	k, v   string
	isTime bool // v is a <time> token (+10m), not a value with {+10m} placeholders
}

// Structural reports whether the case is compared structurally (scrape data).
func (c Case) Structural() bool { return c.Kind == Scrape || c.Kind == ScrapeAPI }

// Name is a short identification for reports: line number and text.
func (c Case) Name() string { return fmt.Sprintf("line %d: %s", c.Line, c.Text) }

// Request is a case resolved against a base time.
type Request struct {
	Method string
	Path   string
	Params url.Values
	Header map[string]string // extra request headers
}

// Encode returns the URL (with the query string for GET) and the body (for POST).
func (r Request) Encode(serverURL string) (u string, body string) {
	if r.Method == "POST" {
		return serverURL + r.Path, r.Params.Encode()
	}
	if len(r.Params) == 0 {
		return serverURL + r.Path, ""
	}
	return serverURL + r.Path + "?" + r.Params.Encode(), ""
}

// Resolve substitutes times relative to base (Unix ms).
func (c Case) Resolve(base int64) Request {
	r := Request{Method: c.method, Path: c.path, Params: url.Values{}}
	for _, p := range c.params {
		if name, ok := strings.CutPrefix(p.k, "header:"); ok {
			if r.Header == nil {
				r.Header = map[string]string{}
			}
			r.Header[name] = p.v
			continue
		}
		if p.isTime {
			r.Params.Add(p.k, timeParam(p.v, base))
		} else {
			r.Params.Add(p.k, Substitute(p.v, base))
		}
	}
	return r
}

var placeholder = regexp.MustCompile(`\{([+-][0-9a-zµ.]+)\}`)

// Substitute replaces every {+dur} in s by base+dur in Unix seconds.
func Substitute(s string, base int64) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		t, ok := relTime(m[1:len(m)-1], base)
		if !ok {
			return m
		}
		return t
	})
}

// relTime turns "+10m" into base+10m in Unix seconds.
func relTime(s string, base int64) (string, bool) {
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return "", false
	}
	d, err := time.ParseDuration(s[1:])
	if err != nil {
		return "", false
	}
	if s[0] == '-' {
		d = -d
	}
	return FormatTime(base + d.Milliseconds()), true
}

// FormatTime renders Unix ms as Unix seconds with up to millisecond decimals.
func FormatTime(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
}

func timeParam(s string, base int64) string {
	if t, ok := relTime(s, base); ok {
		return t
	}
	return s
}

// Parse reads a corpus.
func Parse(r io.Reader) ([]Case, error) {
	var out []Case
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		c, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("corpus: line %d: %w", n, err)
		}
		c.Line = n
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("corpus: read: %w", err)
	}
	return out, nil
}

// fields splits off n space-separated fields; the remainder is the last element.
// An empty remainder may have lost its separator to trimming.
func fields(s string, n int) ([]string, bool) {
	if strings.Count(s, " ") == n-1 {
		s += " "
	}
	out := make([]string, 0, n+1)
	for i := 0; i < n; i++ {
		j := strings.IndexByte(s, ' ')
		if j <= 0 {
			return nil, false
		}
		out = append(out, s[:j])
		s = s[j+1:]
	}
	return append(out, s), true
}

func parseLine(line string) (Case, error) {
	c := Case{Text: line}
	if l, ok := strings.CutPrefix(line, "unordered "); ok {
		c.Unordered, line = true, l
	}
	kind, rest, _ := strings.Cut(line, " ")
	c.Kind = Kind(kind)
	switch c.Kind {
	case Instant:
		f, ok := fields(rest, 1)
		if !ok {
			return c, fmt.Errorf("instant needs <time> <promql>")
		}
		c.method, c.path = "GET", "/api/v1/query"
		c.params = []param{{k: "query", v: f[1]}, {k: "time", v: f[0], isTime: true}}
	case Range:
		f, ok := fields(rest, 3)
		if !ok {
			return c, fmt.Errorf("range needs <start> <end> <step> <promql>")
		}
		c.method, c.path = "GET", "/api/v1/query_range"
		c.params = []param{{k: "query", v: f[3]}, {k: "start", v: f[0], isTime: true}, {k: "end", v: f[1], isTime: true}, {k: "step", v: f[2]}}
	case Scrape:
		c.method, c.path = "GET", "/api/v1/query"
		c.params = []param{{k: "query", v: rest}}
	case API, ScrapeAPI:
		f := strings.SplitN(rest, " ", 3)
		if len(f) < 2 || (f[0] != "GET" && f[0] != "POST") || !strings.HasPrefix(f[1], "/") {
			return c, fmt.Errorf("%s needs <GET|POST> </path> [params]", kind)
		}
		c.method, c.path = f[0], f[1]
		if len(f) == 3 && f[2] != "" {
			for _, kv := range strings.Split(f[2], "&") {
				k, v, _ := strings.Cut(kv, "=")
				c.params = append(c.params, param{k: k, v: v})
			}
		}
	default:
		return c, fmt.Errorf("unknown kind %q", kind)
	}
	return c, nil
}
