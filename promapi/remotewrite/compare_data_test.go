package remotewrite

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"
)

// promStored reads, through Prometheus's query API, every cmp_* series in
// (t-10m, t], as "labels" → ["ts=value", "ts=h:count/sum", ...].
func promStored(t *testing.T, writeURL string, tMs int64) map[string][]string {
	base := strings.TrimSuffix(writeURL, "/api/v1/write")
	q := url.Values{"query": {`{__name__=~"cmp_.+"}[10m]`}, "time": {strconv.FormatFloat(float64(tMs)/1000, 'f', 3, 64)}}
	resp, err := http.Get(base + "/api/v1/query?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Status string
		Data   struct {
			Result []struct {
				Metric     map[string]string
				Values     [][2]any
				Histograms [][2]json.RawMessage
			}
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, "success", out.Status)
	res := map[string][]string{}
	for _, r := range out.Data.Result {
		key := labels.FromMap(r.Metric).String()
		for _, v := range r.Values {
			res[key] = append(res[key], fmt.Sprintf("%d=%s", int64(math.Round(v[0].(float64)*1000)), v[1].(string)))
		}
		for _, h := range r.Histograms {
			var ts float64
			var hv struct{ Count, Sum string }
			require.NoError(t, json.Unmarshal(h[0], &ts))
			require.NoError(t, json.Unmarshal(h[1], &hv))
			res[key] = append(res[key], fmt.Sprintf("%d=h:%s/%s", int64(math.Round(ts*1000)), hv.Count, hv.Sum))
		}
		sort.Strings(res[key])
	}
	return res
}

func fmtFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// ourStored is promStored for a storage.
func ourStored(t *testing.T, s storage.Queryable, tMs int64) map[string][]string {
	res := map[string][]string{}
	q, err := s.Querier(tMs-10*60*1000+1, tMs)
	require.NoError(t, err)
	defer q.Close()
	ss := q.Select(t.Context(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, "cmp_.+"))
	var it chunkenc.Iterator
	for ss.Next() {
		key := ss.At().Labels().String()
		it = ss.At().Iterator(it)
		for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
			switch typ {
			case chunkenc.ValFloat:
				ts, v := it.At()
				res[key] = append(res[key], fmt.Sprintf("%d=%s", ts, fmtFloat(v)))
			case chunkenc.ValHistogram, chunkenc.ValFloatHistogram:
				ts, fh := it.AtFloatHistogram(nil)
				res[key] = append(res[key], fmt.Sprintf("%d=h:%s/%s", ts, fmtFloat(fh.Count), fmtFloat(fh.Sum)))
			}
		}
		require.NoError(t, it.Err())
		sort.Strings(res[key])
	}
	require.NoError(t, ss.Err())
	return res
}
