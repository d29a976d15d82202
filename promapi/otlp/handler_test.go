package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"mytsdb/storage/head"
)

func newHead(t testing.TB) *head.Head {
	t.Helper()
	h, err := head.New(head.Options{MaxExemplars: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func defaultConfig() config.Config { return config.DefaultConfig }

// payload is an export request with one gauge and one cumulative counter,
// stamped at ts.
func payload(ts time.Time) pmetricotlp.ExportRequest {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "svc")
	rm.Resource().Attributes().PutStr("service.instance.id", "i-1")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	g := ms.AppendEmpty()
	g.SetName("queue.depth")
	dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetDoubleValue(4.25)
	c := ms.AppendEmpty()
	c.SetName("jobs.done")
	sum := c.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	cp := sum.DataPoints().AppendEmpty()
	cp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	cp.SetIntValue(17)
	return pmetricotlp.NewExportRequestFromMetrics(md)
}

func post(h http.Handler, ctype, enc, tenant string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/otlp/v1/metrics", bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	if tenant != "" {
		req.Header.Set(TenantHeader, tenant)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestValidate(t *testing.T) {
	o := Options{ConvertDelta: true, NativeDelta: true}
	err := o.Validate()
	for _, want := range []string{"Appendable is required", "Config is required", "at the same time"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
	rec := post(NewHandler(o), "application/json", "", "", []byte("{}"))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "Appendable is required") {
		t.Errorf("invalid options: %d %q, want 500 naming the problem", rec.Code, rec.Body.String())
	}
}

// TestTenants checks the tenant in front of the upstream handler: each
// tenant's data goes to its own storage, opened only when a decoded request
// appends, an invalid ID is a 400, and a storage that cannot be opened is a
// 500 that stores nothing.
func TestTenants(t *testing.T) {
	heads := map[string]*head.Head{"default": newHead(t), "a": newHead(t)}
	var opens atomic.Int64
	h := NewHandler(Options{
		Appendable: func(tenant string) (storage.AppendableV2, error) {
			opens.Add(1)
			if hd, ok := heads[tenant]; ok {
				return hd, nil
			}
			return nil, errors.New("disk full")
		},
		Config: defaultConfig,
		ValidateTenant: func(id string) error {
			if strings.Contains(id, "/") {
				return errors.New("no slashes")
			}
			return nil
		},
		Registerer: prometheus.NewRegistry(),
	})
	pb, err := payload(time.Now()).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}

	if rec := post(h, "application/x-protobuf", "", "a", []byte("\xff")); rec.Code != http.StatusBadRequest || opens.Load() != 0 {
		t.Errorf("malformed body: %d %q, %d opens; want 400 and no storage opened", rec.Code, rec.Body.String(), opens.Load())
	}
	if rec := post(h, "application/x-protobuf", "", "a/b", pb); rec.Code != http.StatusBadRequest || rec.Body.String() != "invalid tenant in X-Scope-OrgID header: no slashes\n" {
		t.Errorf("invalid tenant: %d %q", rec.Code, rec.Body.String())
	}
	if rec := post(h, "application/x-protobuf", "", "a", pb); rec.Code != http.StatusOK {
		t.Fatalf("tenant a: %d %q", rec.Code, rec.Body.String())
	}
	// Series: queue_depth and jobs_done_total (no target_info: the resource
	// has only identifying attributes).
	if a, d := heads["a"].NumSeries(), heads["default"].NumSeries(); a != 2 || d != 0 {
		t.Errorf("after writing to tenant a: a has %d series, default %d; want 2 and 0", a, d)
	}
	if n := samples(t, heads["a"]); n != 2 {
		t.Errorf("tenant a holds %d samples, want 2", n)
	}
	if rec := post(h, "application/x-protobuf", "", "", pb); rec.Code != http.StatusOK || heads["default"].NumSeries() != 2 {
		t.Errorf("default tenant: %d %q, %d series", rec.Code, rec.Body.String(), heads["default"].NumSeries())
	}
	rec := post(h, "application/x-protobuf", "", "broken", pb)
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != "opening the tenant's storage: disk full\n" {
		t.Errorf("unopenable tenant: %d %q, want 500 with the error once", rec.Code, rec.Body.String())
	}
}

// samples counts the samples stored in hd.
func samples(t *testing.T, hd *head.Head) int {
	t.Helper()
	q, err := hd.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	n := 0
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	for set.Next() {
		it := set.At().Iterator(nil)
		for it.Next() != chunkenc.ValNone {
			n++
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// failingCommit is a head whose appenders fail to commit.
type failingCommit struct{ *head.Head }

func (f failingCommit) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return commitFails{f.Head.AppenderV2(ctx)}
}

type commitFails struct{ storage.AppenderV2 }

func (c commitFails) Commit() error {
	_ = c.AppenderV2.Rollback()
	return errors.New("wal: no space left on device")
}

// TestCommitFailure: where the upstream handler drops Commit's error and
// answers 200, the receiver answers 500 so that the sender retries; an
// empty request to a tenant that cannot be opened is a 500 too.
func TestCommitFailure(t *testing.T) {
	hd := newHead(t)
	h := NewHandler(Options{
		Appendable: func(tenant string) (storage.AppendableV2, error) {
			if tenant == "broken" {
				return nil, errors.New("disk gone")
			}
			return failingCommit{hd}, nil
		},
		Config: defaultConfig,
	})
	pb, err := payload(time.Now()).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	rec := post(h, "application/x-protobuf", "", "", pb)
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != "committing the samples: wal: no space left on device\n" {
		t.Errorf("failed commit: %d %q", rec.Code, rec.Body.String())
	}
	if n := samples(t, hd); n != 0 {
		t.Errorf("a failed commit left %d samples", n)
	}
	rec = post(h, "application/json", "", "broken", []byte("{}"))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "disk gone") {
		t.Errorf("empty request to an unopenable tenant: %d %q", rec.Code, rec.Body.String())
	}
	if rec := post(h, "application/json", "", "", []byte("{}")); rec.Code != http.StatusInternalServerError {
		t.Errorf("empty request, failing commit: %d %q", rec.Code, rec.Body.String())
	}
}

// FuzzDecode feeds arbitrary bodies through the decode path (protobuf or
// JSON, plain or gzip) into a real head. The model is pmetricotlp's own
// decoder: a body it rejects is a 400 that stores nothing, one it accepts is
// never a 400; no input panics.
func FuzzDecode(f *testing.F) {
	req := payload(time.Now())
	pb, err := req.MarshalProto()
	if err != nil {
		f.Fatal(err)
	}
	js, err := req.MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{pb, js, {}, []byte("{}"), []byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","sum":{"dataPoints":[{"asInt":"1"}]}}]}]}]}`), pb[:len(pb)/2]} {
		f.Add(s, false, false)
		f.Add(s, true, false)
		f.Add(s, false, true)
	}
	f.Fuzz(func(t *testing.T, body []byte, asJSON, gz bool) {
		hd := newHead(t)
		h := NewHandler(Options{
			Appendable: func(string) (storage.AppendableV2, error) { return hd, nil },
			Config:     defaultConfig,
		})
		ctype, enc, sent := "application/x-protobuf", "", body
		if asJSON {
			ctype = "application/json"
		}
		if gz {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			_, _ = w.Write(body)
			_ = w.Close()
			enc, sent = "gzip", b.Bytes()
		}
		rec := post(h, ctype, enc, "", sent)

		model := pmetricotlp.NewExportRequest()
		decErr := model.UnmarshalProto(body)
		if asJSON {
			model = pmetricotlp.NewExportRequest()
			decErr = model.UnmarshalJSON(body)
		}
		switch {
		case decErr != nil && rec.Code != http.StatusBadRequest:
			t.Fatalf("decoder rejects the body (%v) but the handler answered %d %q", decErr, rec.Code, rec.Body.String())
		case decErr != nil && hd.NumSeries() != 0:
			t.Fatalf("rejected body stored %d series", hd.NumSeries())
		case decErr == nil && rec.Code == http.StatusBadRequest && !refusedSample(rec.Body.String()):
			t.Fatalf("decodable body answered 400 %q", rec.Body.String())
		}
	})
}

// refusedSample reports a 400 body that names one of the sample errors the
// upstream handler answers 400 for after decoding.
func refusedSample(body string) bool {
	for _, err := range []error{storage.ErrOutOfOrderSample, storage.ErrOutOfBounds, storage.ErrDuplicateSampleForTimestamp, storage.ErrTooOldSample} {
		if strings.Contains(body, err.Error()) {
			return true
		}
	}
	return false
}

// deltaPayload is one delta-temporality sum point of value v at ts.
func deltaPayload(start, ts time.Time, v int64) []byte {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "svc")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("events")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetIntValue(v)
	b, _ := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	return b
}

// lastValue is the newest sample of the only series named name in hd.
func lastValue(t *testing.T, hd *head.Head, name string) float64 {
	t.Helper()
	q, err := hd.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", name))
	v := math.NaN()
	for set.Next() {
		it := set.At().Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			_, v = it.At()
		}
	}
	return v
}

// TestDeltaToCumulativePerTenant: with ConvertDelta each tenant has its own
// delta-to-cumulative state, so the same stream sent as two tenants sums per
// tenant, never across them.
func TestDeltaToCumulativePerTenant(t *testing.T) {
	heads := map[string]*head.Head{"default": newHead(t), "b": newHead(t)}
	h := NewHandler(Options{
		Appendable:   func(tenant string) (storage.AppendableV2, error) { return heads[tenant], nil },
		Config:       defaultConfig,
		ConvertDelta: true,
	})
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	for i, v := range []int64{3, 4, 5} {
		from, to := start.Add(time.Duration(i)*10*time.Second), start.Add(time.Duration(i+1)*10*time.Second)
		for _, tenant := range []string{"", "b"} {
			if rec := post(h, "application/x-protobuf", "", tenant, deltaPayload(from, to, v)); rec.Code != http.StatusOK {
				t.Fatalf("tenant %q, point %d: %d %q", tenant, i, rec.Code, rec.Body.String())
			}
		}
	}
	for tenant, hd := range heads {
		if v := lastValue(t, hd, "events_total"); v != 12 {
			t.Errorf("tenant %s: cumulative events_total is %v, want 3+4+5 = 12", tenant, v)
		}
	}
}

// metaRecorder records the metadata each Append is given.
type metaRecorder struct {
	*head.Head
	got map[string]metadata.Metadata
}

func (m *metaRecorder) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return metaRecording{m.Head.AppenderV2(ctx), m}
}

type metaRecording struct {
	storage.AppenderV2
	m *metaRecorder
}

func (r metaRecording) Append(ref storage.SeriesRef, l labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, o storage.AOptions) (storage.SeriesRef, error) {
	r.m.got[l.Get(labels.MetricName)] = o.Metadata
	return r.AppenderV2.Append(ref, l, st, t, v, h, fh, o)
}

// TestMetadataOnlyWithMetadataWALRecords: the translated metrics' metadata
// reaches the storage with AppendMetadata (metadata-wal-records) only, as
// Prometheus's TSDB logs it only then.
func TestMetadataOnlyWithMetadataWALRecords(t *testing.T) {
	pb, err := payload(time.Now()).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		rec := &metaRecorder{Head: newHead(t), got: map[string]metadata.Metadata{}}
		h := NewHandler(Options{
			Appendable:     func(string) (storage.AppendableV2, error) { return rec, nil },
			Config:         defaultConfig,
			AppendMetadata: keep,
		})
		if r := post(h, "application/x-protobuf", "", "", pb); r.Code != http.StatusOK {
			t.Fatalf("%d %q", r.Code, r.Body.String())
		}
		want := map[string]metadata.Metadata{"queue_depth": {}, "jobs_done_total": {}}
		if keep {
			want = map[string]metadata.Metadata{"queue_depth": {Type: model.MetricTypeGauge}, "jobs_done_total": {Type: model.MetricTypeCounter}}
		}
		if !reflect.DeepEqual(rec.got, want) {
			t.Errorf("AppendMetadata %v: the storage got %v, want %v", keep, rec.got, want)
		}
	}
}
