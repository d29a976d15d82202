package scrape

import (
	"context"
	"sync"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
)

// recorder is an in-memory storage.AppendableV2 keeping, per series, the
// committed float samples in append order, dropping out-of-order ones and
// returning series refs as a storage does.
type recorder struct {
	mu     sync.Mutex
	series map[string]labels.Labels
	floats map[string][]float64
	ts     map[string][]int64
}

func newRecorder() *recorder {
	return &recorder{series: map[string]labels.Labels{}, floats: map[string][]float64{}, ts: map[string][]int64{}}
}

type pending struct {
	ls labels.Labels
	t  int64
	v  float64
}

type recAppender struct {
	r   *recorder
	buf []pending
}

func (r *recorder) AppenderV2(context.Context) storage.AppenderV2 { return &recAppender{r: r} }

func (a *recAppender) Append(_ storage.SeriesRef, ls labels.Labels, _, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, _ storage.AppendV2Options) (storage.SeriesRef, error) {
	if h == nil && fh == nil {
		a.buf = append(a.buf, pending{ls.Copy(), t, v})
	}
	// A real storage returns a non-zero series ref; the scrape cache tracks
	// series (and so writes their staleness markers) only by ref.
	return storage.SeriesRef(ls.Hash() | 1), nil
}

func (a *recAppender) Commit() error {
	a.r.mu.Lock()
	defer a.r.mu.Unlock()
	for _, p := range a.buf {
		k := p.ls.String()
		if ts := a.r.ts[k]; len(ts) > 0 && p.t <= ts[len(ts)-1] {
			continue // out of order or duplicate: a TSDB drops it, so do we
		}
		a.r.series[k] = p.ls
		a.r.floats[k] = append(a.r.floats[k], p.v)
		a.r.ts[k] = append(a.r.ts[k], p.t)
	}
	a.buf = nil
	return nil
}

func (a *recAppender) Rollback() error { a.buf = nil; return nil }

// last returns every series' last value, keyed by its label string.
func (r *recorder) last() map[string]float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]float64{}
	for k, vs := range r.floats {
		out[k] = vs[len(vs)-1]
	}
	return out
}

func (r *recorder) count(k string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.floats[k])
}

func isStale(v float64) bool { return value.IsStaleNaN(v) }
