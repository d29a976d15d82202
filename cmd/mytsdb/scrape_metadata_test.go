package main

import (
	"context"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	promstorage "github.com/prometheus/prometheus/storage"
)

// recordingAppender keeps the last options it was given.
type recordingAppender struct{ last promstorage.AOptions }

func (r *recordingAppender) Append(_ promstorage.SeriesRef, _ labels.Labels, _, _ int64, _ float64, _ *histogram.Histogram, _ *histogram.FloatHistogram, o promstorage.AOptions) (promstorage.SeriesRef, error) {
	r.last = o
	return 1, nil
}
func (*recordingAppender) Commit() error   { return nil }
func (*recordingAppender) Rollback() error { return nil }

type recordingAppendable struct{ app *recordingAppender }

func (r recordingAppendable) AppenderV2(context.Context) promstorage.AppenderV2 { return r.app }

func TestScrapeAppendableDropsMetadataWithoutTheFeature(t *testing.T) {
	m := metadata.Metadata{Type: "gauge", Help: "Health of the scrape target.", Unit: "targets"}
	for _, keep := range []bool{false, true} {
		rec := &recordingAppender{}
		app := scrapeAppendable(recordingAppendable{rec}, keep).AppenderV2(context.Background())
		if _, err := app.Append(0, labels.FromStrings("__name__", "up"), 0, 1, 1, nil, nil, promstorage.AOptions{Metadata: m, MetricFamilyName: "up"}); err != nil {
			t.Fatal(err)
		}
		if got := rec.last.Metadata; (got == m) != keep {
			t.Errorf("metadata-wal-records %v: the storage got metadata %+v", keep, got)
		}
		if rec.last.MetricFamilyName != "up" {
			t.Errorf("the other options were changed: %+v", rec.last)
		}
	}
}

// BenchmarkScrapeAppendNoMetadata is the cost the wrapper adds to every
// scraped sample without metadata-wal-records (the default).
func BenchmarkScrapeAppendNoMetadata(b *testing.B) {
	app := scrapeAppendable(recordingAppendable{&recordingAppender{}}, false).AppenderV2(context.Background())
	l := labels.FromStrings("__name__", "up")
	o := promstorage.AOptions{Metadata: metadata.Metadata{Type: "gauge", Help: "h"}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = app.Append(1, l, 0, int64(i), 1, nil, nil, o)
	}
}
