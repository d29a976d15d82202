package promapi

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// valuesQuerier answers LabelValues with a fixed sorted list.
type valuesQuerier struct {
	storage.Querier
	vals []string
}

func (q valuesQuerier) LabelValues(context.Context, string, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.vals, nil, nil
}

// BenchmarkSearchLabelValues: one metric_names-style search over 100k
// metric names through labelSearcher (LabelValues + upstream's
// ApplySearchHints) with each algorithm; ns/op is per search.
func BenchmarkSearchLabelValues(b *testing.B) {
	vals := make([]string, 100_000)
	for i := range vals {
		vals[i] = fmt.Sprintf("service_%d_http_requests_%d_total", i%997, i)
	}
	slices.Sort(vals)
	s := labelSearcher{valuesQuerier{vals: vals}}
	for _, alg := range fuzzAlgorithms {
		for _, th := range []int{0, 80} {
			b.Run(fmt.Sprintf("%s/threshold=%d", alg, th), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					hints := &storage.SearchHints{Filter: newSearchFilter([]string{"htp_reqs"}, th, alg, false, false), Limit: 101, OrderBy: storage.OrderByScoreDesc}
					rs := s.SearchLabelValues(context.Background(), labels.MetricName, hints)
					n := 0
					for rs.Next() {
						n++
					}
					_ = rs.Close()
					if n == 0 && alg == fuzzSubsequence && th == 0 {
						b.Fatal("no results")
					}
				}
			})
		}
	}
}
