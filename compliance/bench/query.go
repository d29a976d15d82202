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

// selector is the exact-match selector of series i.
func selector(i int) string {
	var b strings.Builder
	b.WriteByte('{')
	for k, l := range loadgen.SeriesLabels(i) {
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
	vs, err := instantQuery(ctx, base, selector(i), l.Timestamp(r))
	if err != nil {
		return err
	}
	want := loadgen.Value(i, r)
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
