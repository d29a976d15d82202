package remote

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/golang/snappy"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// randomSeries is a request's content: labels, sample and histogram
// timestamps per series (a series may come twice, as RW 2.0 allows).
type randomSeries struct {
	ls    labels.Labels
	ts    []int64
	hists []int64
}

func genSeries(r *rand.Rand) []randomSeries {
	var out []randomSeries
	for i := range 1 + r.IntN(30) {
		s := randomSeries{ls: labels.FromStrings("__name__", fmt.Sprintf("m%d", r.IntN(5)), "i", fmt.Sprint(i%7), "x", string(rune('a'+r.IntN(3))))}
		for range r.IntN(4) {
			s.ts = append(s.ts, r.Int64N(1<<40)-1<<39)
		}
		if len(s.ts) == 0 {
			for range r.IntN(3) {
				s.hists = append(s.hists, r.Int64N(1<<40))
			}
		}
		out = append(out, s)
	}
	return out
}

// wantNewest is the model: per series hash, the newest timestamp.
func wantNewest(series []randomSeries) map[uint64]int64 {
	want := map[uint64]int64{}
	for _, s := range series {
		h, _ := seriesHash(nil, s.ls)
		for _, t := range append(append([]int64(nil), s.ts...), s.hists...) {
			if cur, ok := want[h]; !ok || t > cur {
				want[h] = t
			}
		}
	}
	return want
}

func encodeV1(t *testing.T, series []randomSeries) []byte {
	var req prompb.WriteRequest
	for _, s := range series {
		ts := prompb.TimeSeries{Labels: prompb.FromLabels(s.ls, nil)}
		for _, x := range s.ts {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: x, Value: 1.5})
		}
		for _, x := range s.hists {
			ts.Histograms = append(ts.Histograms, prompb.Histogram{Timestamp: x, Count: &prompb.Histogram_CountInt{CountInt: 3}, Schema: 1})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	req.Metadata = []prompb.MetricMetadata{{MetricFamilyName: "m0", Help: "h"}}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, b)
}

func encodeV2(t *testing.T, series []randomSeries) []byte {
	st := writev2.NewSymbolTable()
	var req writev2.Request
	for _, s := range series {
		ts := writev2.TimeSeries{LabelsRefs: st.SymbolizeLabels(s.ls, nil)}
		for _, x := range s.ts {
			ts.Samples = append(ts.Samples, writev2.Sample{Timestamp: x, Value: 2.5})
		}
		for _, x := range s.hists {
			ts.Histograms = append(ts.Histograms, writev2.Histogram{Timestamp: x, Count: &writev2.Histogram_CountInt{CountInt: 3}})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	req.Symbols = st.Symbols()
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, b)
}

// TestSentObserveMatchesModel: the wire walk finds, for RW 1.0 and 2.0
// requests built by upstream's own types, the newest timestamp of every
// series the model finds, under the hash the follower computes.
func TestSentObserveMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		series := genSeries(r)
		want := wantNewest(series)
		for _, proto := range []remoteapi.WriteMessageType{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType} {
			s := newSentSet()
			enc := encodeV1
			if proto == remoteapi.WriteV2MessageType {
				enc = encodeV2
			}
			if err := s.observe(enc(t, series), proto); err != nil {
				t.Fatalf("case %d %s: %v", i, proto, err)
			}
			if len(s.max) != len(want) {
				t.Fatalf("case %d %s: %d series, want %d", i, proto, len(s.max), len(want))
			}
			for h, ts := range want {
				if s.max[h] != ts {
					t.Fatalf("case %d %s: series %d newest %d, want %d", i, proto, h, s.max[h], ts)
				}
			}
		}
	}
	if err := newSentSet().observe([]byte("not snappy"), remoteapi.WriteV1MessageType); err == nil {
		t.Fatal("garbage accepted")
	}
}

// FuzzSentScan: no request bytes make the wire walk panic.
func FuzzSentScan(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	t := &testing.T{}
	for range 4 {
		series := genSeries(r)
		for _, b := range [][]byte{encodeV1(t, series), encodeV2(t, series)} {
			raw, _ := snappy.Decode(nil, b)
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		note := func(uint64, int64) {}
		_, _ = scanV1(b, nil, note)
		_, _, _ = scanV2(b, nil, nil, note)
	})
}
