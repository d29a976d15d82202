package compliance

import (
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"mytsdb/compliance/compare"
)

// TestDecodeReadComparesEverything: a sampled remote-read answer is shown
// decoded (NaN included) and compared whole: the same bytes pass, a
// changed sample or label fails, and so does a body that does not decode.
func TestDecodeReadComparesEverything(t *testing.T) {
	mk := func(v float64, name string) []byte {
		rr := prompb.ReadResponse{Results: []*prompb.QueryResult{{Timeseries: []*prompb.TimeSeries{{
			Labels:  []prompb.Label{{Name: "__name__", Value: name}},
			Samples: []prompb.Sample{{Timestamp: 1, Value: v}},
		}}}}}
		b, err := rr.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	r := func(raw []byte) compare.Response {
		return decodeRead(compare.Response{Status: 200, Header: http.Header{"Content-Type": {"application/x-protobuf"}}, Body: snappy.Encode(nil, raw)})
	}
	base := r(mk(0.5, "m"))
	if !strings.Contains(string(base.Body), `value:"m"`) || !strings.Contains(string(base.Body), "wire: ") {
		t.Fatalf("rendering lacks the decoded message or the wire bytes: %s", base.Body)
	}
	if !compare.Compare("/api/v1/read", compare.Mode{}, base, r(mk(0.5, "m"))).OK {
		t.Fatal("the same answer differs")
	}
	for name, other := range map[string]compare.Response{
		"value": r(mk(0.25, "m")),
		"label": r(mk(0.5, "n")),
		"damaged compression": decodeRead(compare.Response{Status: 200, Header: http.Header{"Content-Type": {"application/x-protobuf"}},
			Body: append(snappy.Encode(nil, mk(0.5, "m")[:2]), snappy.Encode(nil, mk(0.5, "m")[2:])...)}),
	} {
		if compare.Compare("/api/v1/read", compare.Mode{}, base, other).OK {
			t.Errorf("%s: a different answer compares equal", name)
		}
	}
	if !strings.Contains(string(r(mk(math.NaN(), "m")).Body), "value:nan") {
		t.Error("NaN is not rendered")
	}
}
