package compliance

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/prompb"
	upstream "github.com/prometheus/prometheus/storage/remote"

	"mytsdb/compliance/compare"
	"mytsdb/compliance/datagen"
)

// The remote-read phase (RemoteRead) sends the same POST /api/v1/read
// requests to both servers over the corpus's data set: sampled responses
// (snappy-compressed prompb.ReadResponse) and streamed XOR chunks
// (prompb.ChunkedReadResponse frames), floats and native histograms, several
// queries in one request, and malformed requests. A protobuf answer is
// decoded into protobuf's text form for a readable side-by-side, and its raw
// bytes are compared too (decodeRead); status and Content-Type are compared
// as for every case.

// RemoteRead runs the remote-read cases.
func (e *Env) RemoteRead(ctx context.Context, refURL, candURL string) []Outcome {
	end := e.Base + datagen.Span.Milliseconds()
	eq := func(name, value string) *prompb.LabelMatcher {
		return &prompb.LabelMatcher{Type: prompb.LabelMatcher_EQ, Name: name, Value: value}
	}
	re := func(name, value string) *prompb.LabelMatcher {
		return &prompb.LabelMatcher{Type: prompb.LabelMatcher_RE, Name: name, Value: value}
	}
	q := func(start, end int64, ms ...*prompb.LabelMatcher) *prompb.Query {
		return &prompb.Query{StartTimestampMs: start, EndTimestampMs: end, Matchers: ms}
	}
	mid := e.Base + datagen.Span.Milliseconds()/2
	queries := []struct {
		name string
		qs   []*prompb.Query
	}{
		{"counter", []*prompb.Query{q(e.Base, end, eq("__name__", "cmp_requests_total"), eq("instance", "host-1"))}},
		{"every cmp series", []*prompb.Query{q(e.Base, end, re("__name__", "cmp_.+"))}},
		{"native histograms", []*prompb.Query{q(e.Base, end, re("__name__", "cmp_native_hist.*"))}},
		{"two queries, a sub-range", []*prompb.Query{q(mid, mid+5*60_000, eq("__name__", "cmp_temperature_celsius")), q(e.Base, mid, eq("job", "special"))}},
		{"specials (NaN, Inf, stale)", []*prompb.Query{q(e.Base, end+60_000, eq("__name__", "cmp_special"))}},
		{"negated matchers", []*prompb.Query{q(e.Base, end, eq("job", "api"), &prompb.LabelMatcher{Type: prompb.LabelMatcher_NEQ, Name: "code", Value: "200"}, &prompb.LabelMatcher{Type: prompb.LabelMatcher_NRE, Name: "method", Value: "get|post"})}},
		{"hints", []*prompb.Query{{StartTimestampMs: e.Base, EndTimestampMs: end, Matchers: []*prompb.LabelMatcher{eq("__name__", "cmp_bytes_total")},
			Hints: &prompb.ReadHints{StepMs: 60_000, Func: "rate", StartMs: e.Base, EndMs: end, RangeMs: 300_000}}}},
		{"nothing matches", []*prompb.Query{q(e.Base, end, eq("__name__", "nope"))}},
		{"outside the data", []*prompb.Query{q(end+3_600_000, end+7_200_000, re("__name__", "cmp_.+"))}},
		{"bad regexp", []*prompb.Query{q(e.Base, end, re("job", "("))}},
		{"no matchers", []*prompb.Query{q(e.Base, end)}},
	}
	var outs []Outcome
	var g guard
	both := func(name string, body []byte, header ...string) {
		req := func(u string) compare.Response {
			hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u+"/api/v1/read", bytes.NewReader(body))
			if err != nil {
				return compare.Response{Err: err}
			}
			for i := 0; i+1 < len(header); i += 2 {
				hr.Header.Set(header[i], header[i+1])
			}
			return decodeRead(send(hr))
		}
		ref := req(refURL)
		cand := g.do(func() compare.Response { return req(candURL) })
		outs = append(outs, Outcome{Name: "remote read: " + name, Result: compare.Compare("/api/v1/read", compare.Mode{}, ref, cand)})
	}
	headers := []string{"Content-Type", "application/x-protobuf", "Content-Encoding", "snappy", "X-Prometheus-Remote-Read-Version", "0.1.0"}
	for _, c := range queries {
		for _, streamed := range []bool{false, true} {
			r := &prompb.ReadRequest{Queries: c.qs}
			name := "sampled " + c.name
			if streamed {
				r.AcceptedResponseTypes = []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS}
				name = "streamed " + c.name
			}
			raw, err := r.Marshal()
			if err != nil {
				outs = append(outs, Outcome{Name: "remote read: " + name, Result: compare.Result{Reason: err.Error()}})
				continue
			}
			both(name, snappy.Encode(nil, raw), headers...)
		}
	}
	both("not snappy", []byte("\x0a\x02not snappy"), headers...)
	both("garbage protobuf", snappy.Encode(nil, []byte("\x0a\xff\xff\xff\xff\x0f")), headers...)
	both("empty body", nil, headers...)
	unknown, _ := (&prompb.ReadRequest{Queries: []*prompb.Query{q(e.Base, end, eq("__name__", "cmp_requests_total"))},
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{7}}).Marshal()
	both("unknown response type only", snappy.Encode(nil, unknown), headers...)
	return outs
}

// decodeRead replaces a protobuf remote-read body by a readable text: the
// decoded message(s) in protobuf's text form (JSON cannot hold the NaN and
// Inf samples), then the raw body in base64, so that answers decoding alike
// but framed differently still differ. Error answers (plain text) are left
// as they are.
func decodeRead(r compare.Response) compare.Response {
	if r.Err != nil || r.Status != http.StatusOK {
		return r
	}
	var b strings.Builder
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/x-streamed-protobuf"):
		cr := upstream.NewChunkedReader(bytes.NewReader(r.Body), config.DefaultChunkedReadLimit, nil)
		for i := 0; ; i++ {
			var f prompb.ChunkedReadResponse
			err := cr.NextProto(&f)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				fmt.Fprintf(&b, "decode error: %v\n", err)
				break
			}
			fmt.Fprintf(&b, "frame %d: %s\n", i, f.String())
		}
	case strings.HasPrefix(ct, "application/x-protobuf"):
		raw, err := snappy.Decode(nil, r.Body)
		if err != nil {
			fmt.Fprintf(&b, "decode error: %v\n", err)
			break
		}
		var rr prompb.ReadResponse
		if err := rr.Unmarshal(raw); err != nil {
			fmt.Fprintf(&b, "decode error: %v\n", err)
			break
		}
		fmt.Fprintf(&b, "response: %s\n", rr.String())
	default:
		return r
	}
	fmt.Fprintf(&b, "wire: %s\n", base64.StdEncoding.EncodeToString(r.Body))
	r.Body = []byte(b.String())
	return r
}
