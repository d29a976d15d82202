package wal

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// SeriesRef is a head series id: the ID space of the head.
type SeriesRef uint64

// RecordType is the first byte of every record payload.
type RecordType uint8

// The record types. RecordUnknown is returned by TypeOf for an empty or
// unrecognised record; it is never written.
const (
	RecordUnknown         RecordType = 0
	RecordSeries          RecordType = 1
	RecordSamples         RecordType = 2
	RecordHistograms      RecordType = 3
	RecordFloatHistograms RecordType = 4
	RecordExemplars       RecordType = 5
	RecordMetadata        RecordType = 6
	RecordTombstones      RecordType = 7
)

// String returns the record type's name.
func (t RecordType) String() string {
	switch t {
	case RecordSeries:
		return "series"
	case RecordSamples:
		return "samples"
	case RecordHistograms:
		return "histograms"
	case RecordFloatHistograms:
		return "float_histograms"
	case RecordExemplars:
		return "exemplars"
	case RecordMetadata:
		return "metadata"
	case RecordTombstones:
		return "tombstones"
	default:
		return "unknown"
	}
}

// RefSeries is a series record entry: the labels of a head series.
type RefSeries struct {
	Ref    SeriesRef
	Labels labels.Labels
}

// RefSample is a float sample of a series.
type RefSample struct {
	Ref SeriesRef
	T   int64
	V   float64
}

// RefHistogramSample is an integer native histogram sample of a series.
type RefHistogramSample struct {
	Ref SeriesRef
	T   int64
	H   *histogram.Histogram
}

// RefFloatHistogramSample is a float native histogram sample of a series.
type RefFloatHistogramSample struct {
	Ref SeriesRef
	T   int64
	FH  *histogram.FloatHistogram
}

// RefExemplar is an exemplar attached to a series.
type RefExemplar struct {
	Ref    SeriesRef
	T      int64
	V      float64
	Labels labels.Labels
}

// RefMetadata is the metadata of a series.
type RefMetadata struct {
	Ref  SeriesRef
	Type model.MetricType
	Unit string
	Help string
}

// TypeOf returns the type of an encoded record, or RecordUnknown.
func TypeOf(rec []byte) RecordType {
	if len(rec) == 0 {
		return RecordUnknown
	}
	switch t := RecordType(rec[0]); t {
	case RecordSeries, RecordSamples, RecordHistograms, RecordFloatHistograms, RecordExemplars, RecordMetadata, RecordTombstones:
		return t
	}
	return RecordUnknown
}
