package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mytsdb/compliance/loadgen"
)

// errNoData marks a server that acknowledged samples a query does not return.
var errNoData = errors.New("query does not see the data")

// instantQuery runs an instant query and returns the vector's (value) per
// result; it fails on anything but a successful vector.
func instantQuery(ctx context.Context, base, query string, tsMs int64) ([]float64, error) {
	q := url.Values{"query": {query}, "time": {strconv.FormatFloat(float64(tsMs)/1000, 'f', 3, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("query %s: HTTP %d: %.200s", query, resp.StatusCode, body)
	}
	var r struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %s: %w", query, err)
	}
	if r.Status != "success" || r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: status %q, type %q", query, r.Status, r.Data.ResultType)
	}
	out := make([]float64, 0, len(r.Data.Result))
	for _, s := range r.Data.Result {
		str, ok := s.Value[1].(string)
		if !ok {
			return nil, fmt.Errorf("query %s: value %v is not a string", query, s.Value[1])
		}
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", query, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// selector is the exact-match selector of series i of mix m.
func selector(m loadgen.Mix, i int) string {
	var b strings.Builder
	b.WriteByte('{')
	for k, l := range m.Labels(i) {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteString("=")
		b.WriteString(strconv.Quote(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// seesSample checks that series i holds value Value(i, r) at round r's timestamp.
func seesSample(ctx context.Context, base string, l *loadgen.Load, i, r int) error {
	m := l.Config().Mix
	vs, err := instantQuery(ctx, base, selector(m, i), l.Timestamp(r))
	if err != nil {
		return err
	}
	want := m.Value(i, r)
	if len(vs) != 1 || math.Float64bits(vs[0]) != math.Float64bits(want) {
		return fmt.Errorf("%w: series %d round %d: got %v, want [%v]", errNoData, i, r, vs, want)
	}
	return nil
}

// countSeries checks that every series of the load answers at round 0.
func countSeries(ctx context.Context, base string, l *loadgen.Load) error {
	vs, err := instantQuery(ctx, base, `count({job="node"})`, l.Timestamp(0))
	if err != nil {
		return err
	}
	if want := float64(l.Config().Series); len(vs) != 1 || vs[0] != want {
		return fmt.Errorf("%w: count({job=\"node\"}) at round 0 = %v, want %v", errNoData, vs, want)
	}
	return nil
}

// fingerprint summarises a range query's matrix, to compare two servers'
// answers: series, points, NaN points and the sum of the other values.
type fingerprint struct {
	Series, Points, NaNs int
	Sum                  float64
}

func (f fingerprint) String() string {
	return fmt.Sprintf("%d series, %d points (%d NaN), sum %.9g", f.Series, f.Points, f.NaNs, f.Sum)
}

// same reports whether two fingerprints match, the sums within 1e-6
// relative (servers may add in different orders).
func (f fingerprint) same(g fingerprint) bool {
	if f.Series != g.Series || f.Points != g.Points || f.NaNs != g.NaNs {
		return false
	}
	d, m := math.Abs(f.Sum-g.Sum), math.Max(math.Abs(f.Sum), math.Abs(g.Sum))
	return d <= 1e-6*m || d < 1e-9
}

// rangeQuery runs a range query and returns its latency (request sent to
// body read) and the answer's fingerprint.
func rangeQuery(ctx context.Context, base, query string, startMs, endMs int64, step time.Duration) (time.Duration, fingerprint, error) {
	q := url.Values{"query": {query}, "start": {strconv.FormatFloat(float64(startMs)/1000, 'f', 3, 64)},
		"end": {strconv.FormatFloat(float64(endMs)/1000, 'f', 3, 64)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query_range?"+q.Encode(), nil)
	if err != nil {
		return 0, fingerprint{}, err
	}
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fingerprint{}, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	resp.Body.Close()
	lat := time.Since(t0)
	if err != nil {
		return 0, fingerprint{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fingerprint{}, fmt.Errorf("query_range %s: HTTP %d: %.200s", query, resp.StatusCode, body)
	}
	fp, err := matrixFingerprint(body)
	if err != nil {
		return 0, fingerprint{}, fmt.Errorf("query_range %s: %w", query, err)
	}
	return lat, fp, nil
}

func matrixFingerprint(body []byte) (fingerprint, error) {
	var r struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fingerprint{}, err
	}
	if r.Status != "success" || r.Data.ResultType != "matrix" {
		return fingerprint{}, fmt.Errorf("status %q, type %q", r.Status, r.Data.ResultType)
	}
	var fp fingerprint
	for _, s := range r.Data.Result {
		fp.Series++
		for _, p := range s.Values {
			str, ok := p[1].(string)
			if !ok {
				return fingerprint{}, fmt.Errorf("value %v is not a string", p[1])
			}
			v, err := strconv.ParseFloat(str, 64)
			if err != nil {
				return fingerprint{}, err
			}
			fp.Points++
			if math.IsNaN(v) {
				fp.NaNs++
			} else {
				fp.Sum += v
			}
		}
	}
	return fp, nil
}
