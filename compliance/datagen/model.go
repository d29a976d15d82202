package datagen

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// Series is one series of the data set with its samples in time order.
// A series holds either float samples or histogram samples (and, for a
// histogram series that stops, a trailing float stale marker).
type Series struct {
	Labels labels.Labels
	Floats []FloatSample
	Hists  []HistSample
	Meta   *Meta // sent with protocol 2.0 only
}

// FloatSample is a float sample.
type FloatSample struct {
	T int64
	V float64
}

// HistSample is a native histogram sample: exactly one of H and FH is set.
type HistSample struct {
	T  int64
	H  *histogram.Histogram
	FH *histogram.FloatHistogram
}

// Meta is the metadata sent with a series in protocol 2.0.
type Meta struct {
	Type       model.MetricType
	Help, Unit string
}

func lbls(kv ...string) labels.Labels { return labels.FromStrings(kv...) }
