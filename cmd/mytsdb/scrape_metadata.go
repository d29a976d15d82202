package main

import (
	"context"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	promstorage "github.com/prometheus/prometheus/storage"
)

// scrapeAppendable is what the scrape manager appends to. Without
// metadata-wal-records the upstream scrape loops still pass metadata with
// their report series (up, scrape_duration_seconds, ...), which Prometheus's
// TSDB then drops; mytsdb's head logs whatever metadata it is given (and
// remote write 2.0 would send it), so the metadata is dropped here instead.
func scrapeAppendable(a promstorage.AppendableV2, appendMetadata bool) promstorage.AppendableV2 {
	if appendMetadata {
		return a
	}
	return noMetadataAppendable{a}
}

type noMetadataAppendable struct{ promstorage.AppendableV2 }

func (n noMetadataAppendable) AppenderV2(ctx context.Context) promstorage.AppenderV2 {
	return noMetadataAppender{n.AppendableV2.AppenderV2(ctx)}
}

type noMetadataAppender struct{ promstorage.AppenderV2 }

func (n noMetadataAppender) Append(ref promstorage.SeriesRef, l labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts promstorage.AOptions) (promstorage.SeriesRef, error) {
	opts.Metadata = metadata.Metadata{}
	return n.AppenderV2.Append(ref, l, st, t, v, h, fh, opts)
}
