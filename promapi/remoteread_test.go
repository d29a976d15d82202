package promapi

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// readRaw posts a remote-read request and returns status, content type and body.
func readRaw(t *testing.T, base string, req *prompb.ReadRequest) (int, string, []byte) {
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	hreq, err := http.NewRequest(http.MethodPost, base+"/api/v1/read", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		t.Fatal(err)
	}
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	hreq.Header.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// compareRemoteRead sends the same remote-read requests (sampled and
// streamed chunks, floats and histograms) to both servers and wants the same
// bytes back.
func compareRemoteRead(t *testing.T, refURL, oursURL string, base int64) {
	end := base + (dataPoints-1)*dataStepMs
	query := func(name string) *prompb.Query {
		return &prompb.Query{StartTimestampMs: base, EndTimestampMs: end,
			Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: name}}}
	}
	for name, req := range map[string]*prompb.ReadRequest{
		"samples":           {Queries: []*prompb.Query{query("test_gauge"), query("test_requests_total")}},
		"samples histogram": {Queries: []*prompb.Query{query("test_histogram")}},
		"streamed chunks":   {Queries: []*prompb.Query{query("test_gauge"), query("test_histogram")}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS}},
		"regexp matcher": {Queries: []*prompb.Query{{StartTimestampMs: base, EndTimestampMs: end,
			Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_RE, Name: "job", Value: "a.*"}}}}},
		"bad regexp": {Queries: []*prompb.Query{{StartTimestampMs: base, EndTimestampMs: end,
			Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_RE, Name: "job", Value: "("}}}}},
	} {
		t.Run("remote read "+name, func(t *testing.T) {
			wc, wt, wb := readRaw(t, refURL, req)
			gc, gt, gb := readRaw(t, oursURL, req)
			if wc != gc || wt != gt || !bytes.Equal(wb, gb) {
				t.Errorf("prometheus %d %q %q\nours       %d %q %q", wc, wt, wb, gc, gt, gb)
			}
			if wc == http.StatusOK && len(wb) < 50 {
				t.Errorf("suspiciously short answer: %q", wb)
			}
		})
	}
}
