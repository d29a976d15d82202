package compare

import (
	"bytes"
	"fmt"
	"net/http"
)

// Response is what one server answered (or the transport error).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

// Result of comparing two responses.
type Result struct {
	OK     bool
	Reason string // first difference, one line
	Ref    string // rendering of the reference response (after exemptions)
	Cand   string // rendering of the candidate response
}

// Compare compares the reference and candidate responses to a request for
// path, applying the exemptions that hold for mode m.
func Compare(path string, m Mode, ref, cand Response) Result {
	r := Result{Ref: render(ref, path, m, false), Cand: render(cand, path, m, true)}
	switch {
	case ref.Err != nil || cand.Err != nil:
		if ref.Err == nil || cand.Err == nil {
			r.Reason = fmt.Sprintf("transport error on one side only: reference %v, candidate %v", ref.Err, cand.Err)
			return r
		}
		r.OK = true // both failed to answer (e.g. both closed the connection)
		return r
	case ref.Status != cand.Status:
		r.Reason = fmt.Sprintf("status %d vs %d", ref.Status, cand.Status)
		return r
	}
	for _, h := range ComparedHeaders {
		if a, b := ref.Header.Values(h), cand.Header.Values(h); fmt.Sprint(a) != fmt.Sprint(b) {
			r.Reason = fmt.Sprintf("header %s: %q vs %q", h, a, b)
			return r
		}
	}
	if bytes.Equal(ref.Body, cand.Body) {
		r.OK = true
		return r
	}
	a, errA := parseJSON(ref.Body)
	b, errB := parseJSON(cand.Body)
	if errA != nil || errB != nil {
		r.Reason = "bodies differ"
		return r
	}
	normalize(a, path, m, false)
	normalize(b, path, m, true)
	if a.String() == b.String() {
		r.OK = true
		return r
	}
	r.Reason = "JSON bodies differ" + firstJSONDifference(a, b, "")
	return r
}

// render shows a response: status line, compared headers, body (JSON
// indented after exemptions).
func render(resp Response, path string, m Mode, candidate bool) string {
	if resp.Err != nil {
		return "transport error: " + resp.Err.Error()
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP %d\n", resp.Status)
	for _, h := range ComparedHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			fmt.Fprintf(&b, "%s: %v\n", h, v)
		}
	}
	if n, err := parseJSON(resp.Body); err == nil {
		normalize(n, path, m, candidate)
		b.WriteString(n.Indent())
	} else {
		b.Write(resp.Body)
	}
	return b.String()
}

// firstJSONDifference names where two trees first differ, e.g. " at data.result.3.metric".
func firstJSONDifference(a, b *node, at string) string {
	if a.kind != b.kind || a.lit != b.lit || len(a.vals) != len(b.vals) {
		if at == "" {
			return ""
		}
		return " at " + at[1:]
	}
	for i := range a.vals {
		key := itoa(i)
		if a.kind == 'o' {
			key = a.keys[i]
			if a.keys[i] != b.keys[i] {
				return " at " + (at + "." + key)[1:] + " (key " + b.keys[i] + ")"
			}
		}
		if a.vals[i].String() != b.vals[i].String() {
			return firstJSONDifference(a.vals[i], b.vals[i], at+"."+key)
		}
	}
	return ""
}
