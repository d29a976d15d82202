package datagen

import (
	"fmt"
	"math"

	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// Write is one remote-write HTTP request: POST Body to /api/v1/write with
// Headers. The harness sends each, in order, to both servers and compares the
// responses (status, remote-write headers, body).
type Write struct {
	Name    string
	Headers map[string]string
	Body    []byte
}

const (
	ctV1 = "application/x-protobuf"
	ctV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
)

func v1Headers() map[string]string {
	return map[string]string{"Content-Type": ctV1, "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0"}
}

func v2Headers() map[string]string {
	return map[string]string{"Content-Type": ctV2, "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "2.0.0"}
}

// Writes returns every request of the data set in the order it must be sent.
func Writes(base int64) ([]Write, error) {
	var out []Write
	floats := floatSeries(base)
	// Split the float series into a few requests by position, so that the
	// server sees several requests and no request is huge.
	const per = 120
	for i := 0; i < len(floats); i += per {
		body, err := encodeV1(floats[i:min(i+per, len(floats))])
		if err != nil {
			return nil, err
		}
		out = append(out, Write{Name: fmt.Sprintf("v1 floats %d", i/per), Headers: v1Headers(), Body: body})
	}
	body, err := encodeV1(histogramSeries(base))
	if err != nil {
		return nil, err
	}
	out = append(out, Write{Name: "v1 native histograms", Headers: v1Headers(), Body: body})
	if body, err = encodeV2(v2Series(base)); err != nil {
		return nil, err
	}
	out = append(out, Write{Name: "v2 floats and histograms", Headers: v2Headers(), Body: body})
	if body, err = encodeV1(histogramStaleMarkers(base)); err != nil {
		return nil, err
	}
	out = append(out, Write{Name: "v1 histogram stale marker", Headers: v1Headers(), Body: body})
	bad, err := badWrites(base)
	if err != nil {
		return nil, err
	}
	return append(out, bad...), nil
}

// v2Series are sent with protocol 2.0 only, with metadata.
func v2Series(base int64) []Series {
	counter := Series{
		Labels: lbls("__name__", "cmp_v2_jobs_total", "job", "v2", "queue", "default"),
		Meta:   &Meta{Type: model.MetricTypeCounter, Help: "Jobs processed.", Unit: ""},
	}
	gauge := Series{
		Labels: lbls("__name__", "cmp_v2_queue_length", "job", "v2", "queue", "default"),
		Meta:   &Meta{Type: model.MetricTypeGauge, Help: "Queue length.", Unit: "jobs"},
	}
	v := 0.0
	for i := 0; i < Points(); i++ {
		t := base + int64(i)*ms(Step)
		if i == 90 {
			v = 0
		}
		v += float64(i % 7)
		counter.Floats = append(counter.Floats, FloatSample{T: t, V: v})
		gauge.Floats = append(gauge.Floats, FloatSample{T: t, V: math.Mod(float64(i*13), 17)})
	}
	hist := Series{
		Labels: lbls("__name__", "cmp_v2_latency_seconds", "job", "v2"),
		Meta:   &Meta{Type: model.MetricTypeHistogram, Help: "Latency.", Unit: "seconds"},
	}
	for i := 0; i < Points(); i++ {
		c := uint64(i)
		hist.Hists = append(hist.Hists, HistSample{T: base + int64(i)*ms(Step), H: &histogram.Histogram{
			Schema:          1,
			Count:           3 * c,
			ZeroCount:       c,
			ZeroThreshold:   0.01,
			Sum:             float64(i) * 1.5,
			PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
			PositiveBuckets: []int64{int64(c), 0},
		}})
	}
	return []Series{counter, gauge, hist}
}

func encodeV1(series []Series) ([]byte, error) {
	req := &prompb.WriteRequest{}
	for _, s := range series {
		ts := prompb.TimeSeries{Labels: prompb.FromLabels(s.Labels, nil)}
		for _, f := range s.Floats {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: f.T, Value: f.V})
		}
		for _, h := range s.Hists {
			if h.H != nil {
				ts.Histograms = append(ts.Histograms, prompb.FromIntHistogram(h.T, h.H))
			} else {
				ts.Histograms = append(ts.Histograms, prompb.FromFloatHistogram(h.T, h.FH))
			}
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	raw, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("datagen: marshal v1 request: %w", err)
	}
	return snappy.Encode(nil, raw), nil
}

func encodeV2(series []Series) ([]byte, error) {
	st := writev2.NewSymbolTable()
	req := &writev2.Request{}
	for _, s := range series {
		ts := writev2.TimeSeries{LabelsRefs: st.SymbolizeLabels(s.Labels, nil)}
		if s.Meta != nil {
			ts.Metadata = writev2.Metadata{
				Type:    writev2.FromMetadataType(s.Meta.Type),
				HelpRef: st.Symbolize(s.Meta.Help),
				UnitRef: st.Symbolize(s.Meta.Unit),
			}
		}
		for _, f := range s.Floats {
			ts.Samples = append(ts.Samples, writev2.Sample{Timestamp: f.T, Value: f.V})
		}
		for _, h := range s.Hists {
			if h.H != nil {
				ts.Histograms = append(ts.Histograms, writev2.FromIntHistogram(0, h.T, h.H))
			} else {
				ts.Histograms = append(ts.Histograms, writev2.FromFloatHistogram(0, h.T, h.FH))
			}
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	req.Symbols = st.Symbols()
	raw, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("datagen: marshal v2 request: %w", err)
	}
	return snappy.Encode(nil, raw), nil
}
