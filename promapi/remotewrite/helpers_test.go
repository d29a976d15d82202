package remotewrite

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/teststorage"
	"github.com/stretchr/testify/require"
)

const (
	ctV1 = "application/x-protobuf;proto=prometheus.WriteRequest"
	ctV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
)

// newStorage is the real Prometheus TSDB with Prometheus's default 2h head
// chunk range (teststorage defaults to 24h), so out-of-bounds limits match a
// default Prometheus server.
func newStorage(t testing.TB) *teststorage.TestStorage {
	return teststorage.New(t, func(o *tsdb.Options) {
		o.MinBlockDuration = tsdb.DefaultBlockDuration
		o.MaxBlockDuration = tsdb.DefaultBlockDuration
	})
}

func encV1(t testing.TB, req *prompb.WriteRequest) []byte {
	b, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, b)
}

func encV2(t testing.TB, req *writev2.Request) []byte {
	b, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, b)
}

func post(t testing.TB, url, contentType, encoding string, body []byte, hdr ...string) *http.Response {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

func nowMs() int64 { return time.Now().UnixMilli() }

// stored is what a storage holds for one series.
type stored struct {
	floats [][2]float64 // t, v
	hists  []*histogram.Histogram
	fhists []*histogram.FloatHistogram
}

// query reads every series matching name from s.
func query(t testing.TB, s storage.Queryable, name string) map[string]*stored {
	q, err := s.Querier(math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	defer q.Close()
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, name))
	out := map[string]*stored{}
	var it chunkenc.Iterator
	for ss.Next() {
		series := ss.At()
		st := &stored{}
		it = series.Iterator(it)
		for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
			switch typ {
			case chunkenc.ValFloat:
				ts, v := it.At()
				st.floats = append(st.floats, [2]float64{float64(ts), v})
			case chunkenc.ValHistogram:
				_, h := it.AtHistogram(nil)
				st.hists = append(st.hists, h)
			case chunkenc.ValFloatHistogram:
				_, fh := it.AtFloatHistogram(nil)
				st.fhists = append(st.fhists, fh)
			}
		}
		require.NoError(t, it.Err())
		out[series.Labels().String()] = st
	}
	require.NoError(t, ss.Err())
	return out
}
