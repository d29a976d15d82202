package datagen

import (
	"fmt"

	"github.com/golang/snappy"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// badWrites are requests the servers must reject (or partly reject) in the
// same way: status code, headers and body are compared. They are sent after
// the data, so the data they collide with is already there.
func badWrites(base int64) ([]Write, error) {
	last := base + ms(Span)
	one := func(name string, s Series, v2 bool) (Write, error) {
		if v2 {
			b, err := encodeV2([]Series{s})
			return Write{Name: name, Headers: v2Headers(), Body: b}, err
		}
		b, err := encodeV1([]Series{s})
		return Write{Name: name, Headers: v1Headers(), Body: b}, err
	}
	reqTotal := lbls("__name__", "cmp_requests_total", "job", "api", "instance", "host-0", "method", "GET", "code", "200")
	cases := []struct {
		name string
		s    Series
		v2   bool
	}{
		{"v1 out of order sample", Series{Labels: reqTotal, Floats: []FloatSample{{T: base + ms(Step)*10 + 1, V: 1}}}, false},
		{"v1 duplicate timestamp, other value", Series{Labels: reqTotal, Floats: []FloatSample{{T: last, V: -1}}}, false},
		{"v1 too old sample", Series{Labels: lbls("__name__", "cmp_too_old", "job", "bad"), Floats: []FloatSample{{T: base - 3*3600*1000, V: 1}}}, false},
		{"v2 out of order sample", Series{Labels: reqTotal, Floats: []FloatSample{{T: base + 1, V: 1}}}, true},
		{"v1 no labels", Series{Floats: []FloatSample{{T: last, V: 1}}}, false},
		{"v1 empty series", Series{Labels: lbls("__name__", "cmp_empty_series", "job", "bad")}, false},
		{"v1 duplicate label names", Series{Labels: lbls("__name__", "cmp_dup_label", "a", "1", "a", "2"), Floats: []FloatSample{{T: last, V: 1}}}, false},
	}
	var out []Write
	for _, c := range cases {
		w, err := one(c.name, c.s, c.v2)
		if err != nil {
			return nil, fmt.Errorf("datagen: %s: %w", c.name, err)
		}
		out = append(out, w)
	}
	empty, err := encodeV1(nil)
	if err != nil {
		return nil, err
	}
	badRef := &writev2.Request{Symbols: []string{""}, Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 2}, Samples: []writev2.Sample{{Value: 1, Timestamp: last}}}}}
	rawBadRef, err := badRef.Marshal()
	if err != nil {
		return nil, err
	}
	out = append(out,
		Write{Name: "v1 empty request", Headers: v1Headers(), Body: empty},
		Write{Name: "v1 body not snappy", Headers: v1Headers(), Body: []byte("this is not snappy")},
		Write{Name: "v1 snappy but not protobuf", Headers: v1Headers(), Body: snappy.Encode(nil, []byte("\xff\xff\xff garbage"))},
		Write{Name: "v2 label ref out of range", Headers: v2Headers(), Body: snappy.Encode(nil, rawBadRef)},
		Write{Name: "unknown proto", Headers: map[string]string{"Content-Type": "application/x-protobuf;proto=io.example.Nope", "Content-Encoding": "snappy"}, Body: empty},
		Write{Name: "unknown content type", Headers: map[string]string{"Content-Type": "text/plain", "Content-Encoding": "snappy"}, Body: empty},
		Write{Name: "unknown content encoding", Headers: map[string]string{"Content-Type": ctV1, "Content-Encoding": "gzip"}, Body: empty},
	)
	return out, nil
}
