package remotewrite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
	"github.com/stretchr/testify/require"
)

// tenants hands out one real TSDB per tenant and records the calls.
type tenants struct {
	t  testing.TB
	mu sync.Mutex
	m  map[string]*teststorage.TestStorage
}

func newTenants(t testing.TB) *tenants {
	return &tenants{t: t, m: map[string]*teststorage.TestStorage{}}
}

func (ts *tenants) appendable(id string) (storage.AppendableV2, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.m[id] == nil {
		ts.m[id] = newStorage(ts.t)
	}
	return ts.m[id], nil
}

func serve(t testing.TB, o Options) *httptest.Server {
	s := httptest.NewServer(NewHandler(o))
	t.Cleanup(s.Close)
	return s
}

func body(t testing.TB, r *http.Response) string {
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	return string(b)
}

func TestV1StoresSamplesHistogramsExemplars(t *testing.T) {
	db := newStorage(t)
	srv := serve(t, Options{Appendable: func(string) (storage.AppendableV2, error) { return db, nil }})
	t0 := nowMs()
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("__name__", "m", "job", "é"), Samples: []prompb.Sample{{Timestamp: t0, Value: 1.5}, {Timestamp: t0 + 1, Value: math.Float64frombits(0x7ff0000000000002)}},
			Exemplars: []prompb.Exemplar{{Labels: lbls("trace_id", "t2"), Value: 2, Timestamp: t0 + 1}, {Labels: lbls("trace_id", "t1"), Value: 1, Timestamp: t0}}},
		{Labels: lbls("__name__", "m", "job", "h"), Histograms: []prompb.Histogram{prompb.FromIntHistogram(t0, testHistogram(0))}},
		{Labels: lbls("__name__", "m", "job", "fh"), Histograms: []prompb.Histogram{prompb.FromFloatHistogram(t0, testCustomFloatHistogram(0))}},
		{Labels: lbls("job", "no-name"), Samples: []prompb.Sample{{Timestamp: t0, Value: 1}}},
	}}
	resp := post(t, srv.URL, ctV1, "snappy", encV1(t, req))
	require.Equal(t, "", body(t, resp))
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Empty(t, resp.Header.Get(samplesWrittenHeader))

	got := query(t, db, "m")
	require.Len(t, got, 3)
	f := got[`{__name__="m", job="é"}`]
	require.Len(t, f.floats, 2)
	require.Equal(t, [2]float64{float64(t0), 1.5}, f.floats[0])
	require.Equal(t, uint64(0x7ff0000000000002), math.Float64bits(f.floats[1][1]))
	h := got[`{__name__="m", job="h"}`]
	require.Len(t, h.hists, 1)
	require.True(t, h.hists[0].Equals(testHistogram(0)), "%v", h.hists[0])
	fh := got[`{__name__="m", job="fh"}`]
	require.Len(t, fh.fhists, 1)
	require.True(t, fh.fhists[0].Equals(testCustomFloatHistogram(0)), "%v", fh.fhists[0])

	eq, err := db.ExemplarQuerier(context.Background())
	require.NoError(t, err)
	ex, err := eq.Select(t0-1, t0+10, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "é")})
	require.NoError(t, err)
	require.Len(t, ex, 1)
	require.Equal(t, []exemplar.Exemplar{
		{Labels: labels.FromStrings("trace_id", "t1"), Value: 1, Ts: t0, HasTs: true},
		{Labels: labels.FromStrings("trace_id", "t2"), Value: 2, Ts: t0 + 1, HasTs: true},
	}, ex[0].Exemplars)
}

func TestV2StoresAndCounts(t *testing.T) {
	db := newStorage(t)
	srv := serve(t, Options{Appendable: func(string) (storage.AppendableV2, error) { return db, nil }})
	t0 := nowMs()
	b := newV2()
	b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "n", "i", "1"), Samples: []writev2.Sample{{Timestamp: t0, Value: 1}, {Timestamp: t0 + 10, Value: 2}},
		Exemplars: []writev2.Exemplar{{LabelsRefs: b.refs("trace_id", "a"), Value: 1, Timestamp: t0}},
		Metadata:  writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: b.sym("help"), UnitRef: b.sym("bytes")}})
	b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "n", "i", "2"), Histograms: []writev2.Histogram{writev2.FromIntHistogram(0, t0, testHistogram(0)), writev2.FromFloatHistogram(0, t0+10, testCustomFloatHistogram(0))}})
	b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "n", "i", "3"), Samples: []writev2.Sample{{Timestamp: t0 - 1000, Value: 1}}})
	resp := post(t, srv.URL, ctV2, "snappy", encV2(t, &b.req))
	require.Equal(t, http.StatusNoContent, resp.StatusCode, body(t, resp))
	require.Equal(t, "3", resp.Header.Get(samplesWrittenHeader))
	require.Equal(t, "2", resp.Header.Get(histogramsWrittenHeader))
	require.Equal(t, "1", resp.Header.Get(exemplarsWrittenHeader))

	// Now a partial write: an out-of-bounds sample and a good one.
	b = newV2()
	b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "n", "i", "4"), Samples: []writev2.Sample{{Timestamp: t0 - 3*3600*1000, Value: 1}}})
	b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "n", "i", "1"), Samples: []writev2.Sample{{Timestamp: t0 + 20, Value: 3}}})
	resp = post(t, srv.URL, ctV2, "snappy", encV2(t, &b.req))
	require.Equal(t, "out of bounds for series {__name__=\"n\", i=\"4\"}\n", body(t, resp))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "1", resp.Header.Get(samplesWrittenHeader))

	got := query(t, db, "n")
	require.Equal(t, [][2]float64{{float64(t0), 1}, {float64(t0 + 10), 2}, {float64(t0 + 20), 3}}, got[`{__name__="n", i="1"}`].floats)
	require.Len(t, got[`{__name__="n", i="2"}`].hists, 1)
	require.Len(t, got[`{__name__="n", i="2"}`].fhists, 1)
	require.Len(t, got[`{__name__="n", i="3"}`].floats, 1)
	require.NotContains(t, got, `{__name__="n", i="4"}`)
}

func TestV1OutOfOrderRollsBackEverything(t *testing.T) {
	db := newStorage(t)
	srv := serve(t, Options{Appendable: func(string) (storage.AppendableV2, error) { return db, nil }})
	t0 := nowMs()
	resp := post(t, srv.URL, ctV1, "snappy", encV1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: lbls("__name__", "o"), Samples: []prompb.Sample{{Timestamp: t0, Value: 1}}}}}))
	require.Equal(t, http.StatusNoContent, resp.StatusCode, body(t, resp))
	resp = post(t, srv.URL, ctV1, "snappy", encV1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("__name__", "o", "x", "new"), Samples: []prompb.Sample{{Timestamp: t0, Value: 1}}},
		{Labels: lbls("__name__", "o"), Samples: []prompb.Sample{{Timestamp: t0 - 1, Value: 1}}},
	}}))
	require.Equal(t, "out of order sample\n", body(t, resp))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	got := query(t, db, "o")
	require.Len(t, got, 1)
	require.Len(t, got[`{__name__="o"}`].floats, 1)
}

func TestTenants(t *testing.T) {
	ts := newTenants(t)
	srv := serve(t, Options{Appendable: ts.appendable})
	t0 := nowMs()
	req := encV1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: lbls("__name__", "tn"), Samples: []prompb.Sample{{Timestamp: t0, Value: 1}}}}})
	require.Equal(t, http.StatusNoContent, post(t, srv.URL, ctV1, "snappy", req).StatusCode)
	require.Equal(t, http.StatusNoContent, post(t, srv.URL, ctV1, "snappy", req, TenantHeader, "team-a").StatusCode)
	resp := post(t, srv.URL, ctV1, "snappy", req, TenantHeader, "../etc")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "invalid tenant in X-Scope-OrgID header: tenant ID \"../etc\" holds '/': only [A-Za-z0-9_.-] are allowed\n", body(t, resp))
	resp = post(t, srv.URL, ctV2, "snappy", req, TenantHeader, "..")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "0", resp.Header.Get(samplesWrittenHeader))

	require.Len(t, ts.m, 2)
	require.Len(t, query(t, ts.m["default"], "tn"), 1)
	require.Len(t, query(t, ts.m["team-a"], "tn"), 1)
}

func TestAcceptedProtos(t *testing.T) {
	db := newStorage(t)
	srv := serve(t, Options{Appendable: func(string) (storage.AppendableV2, error) { return db, nil }, AcceptedProtos: []Proto{ProtoV2}})
	resp := post(t, srv.URL, ctV1, "snappy", encV1(t, &prompb.WriteRequest{}))
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	require.Equal(t, "prometheus.WriteRequest protobuf message is not accepted by this server; only accepts io.prometheus.write.v2.Request\n", body(t, resp))
	resp = post(t, srv.URL, ctV2, "snappy", encV2(t, &writev2.Request{}))
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	bad := Options{Appendable: func(string) (storage.AppendableV2, error) { return db, nil }, AcceptedProtos: []Proto{"foo"}}
	require.Error(t, bad.Validate())
	require.Error(t, (&Options{}).Validate())
}

// staleRefs wraps the real TSDB and refuses refs issued before the last
// "restart", like a storage that dropped its series ids.
type staleRefs struct {
	*teststorage.TestStorage
	mu      sync.Mutex
	valid   map[storage.SeriesRef]bool
	refused int
}

func (s *staleRefs) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return &staleApp{ExemplarAppenderV2: s.TestStorage.AppenderV2(ctx).(storage.ExemplarAppenderV2), s: s}
}

type staleApp struct {
	storage.ExemplarAppenderV2
	s *staleRefs
}

var errStaleRef = errors.New("stale series ref")

func (a *staleApp) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, o storage.AOptions) (storage.SeriesRef, error) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if ref != 0 && !a.s.valid[ref] {
		a.s.refused++
		return 0, errStaleRef
	}
	r, err := a.ExemplarAppenderV2.Append(ref, ls, st, t, v, h, fh, o)
	if r != 0 {
		a.s.valid[r] = true
	}
	return r, err
}

func TestRefCacheHitsAndStaleRefs(t *testing.T) {
	s := &staleRefs{TestStorage: newStorage(t), valid: map[storage.SeriesRef]bool{}}
	h := NewHandler(Options{Appendable: func(string) (storage.AppendableV2, error) { return s, nil }}).(*handler)
	srv := serve(t, Options{})
	srv.Config.Handler = h
	t0 := nowMs()
	send := func(i int) {
		b := newV2()
		for j := range 10 {
			b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "c", "j", string(rune('a'+j))), Samples: []writev2.Sample{{Timestamp: t0 + int64(i), Value: float64(i)}}})
		}
		resp := post(t, srv.URL, ctV2, "snappy", encV2(t, &b.req))
		require.Equal(t, http.StatusNoContent, resp.StatusCode, body(t, resp))
		require.Equal(t, "10", resp.Header.Get(samplesWrittenHeader))
	}
	send(0)
	require.Equal(t, 10, h.cache(DefaultTenant, s).len())
	send(1)
	require.Zero(t, s.refused)
	// "Restart": every ref is stale; the handler must retry with ref 0.
	s.mu.Lock()
	clear(s.valid)
	s.mu.Unlock()
	send(2)
	require.Equal(t, 10, s.refused)
	send(3)
	require.Equal(t, 10, s.refused, "refreshed refs are used")
	got := query(t, s, "c")
	require.Len(t, got, 10)
	for _, st := range got {
		require.Equal(t, [][2]float64{{float64(t0), 0}, {float64(t0 + 1), 1}, {float64(t0 + 2), 2}, {float64(t0 + 3), 3}}, st.floats)
	}
}

// TestLabelsDoNotAliasBuffers checks that labels handed to the storage stay
// intact when the pooled request buffers are reused.
func TestLabelsDoNotAliasBuffers(t *testing.T) {
	db := newStorage(t)
	srv := serve(t, Options{Appendable: func(string) (storage.AppendableV2, error) { return db, nil }})
	t0 := nowMs()
	for i := range 50 {
		b := newV2()
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "alias", "i", strconv.Itoa(i)), Samples: []writev2.Sample{{Timestamp: t0, Value: 1}},
			Exemplars: []writev2.Exemplar{{LabelsRefs: b.refs("trace", strconv.Itoa(i)), Timestamp: t0, Value: 1}}})
		require.Equal(t, http.StatusNoContent, post(t, srv.URL, ctV2, "snappy", encV2(t, &b.req)).StatusCode)
		require.Equal(t, http.StatusNoContent, post(t, srv.URL, ctV1, "snappy", encV1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: lbls("__name__", "alias1", "i", strconv.Itoa(i)), Samples: []prompb.Sample{{Timestamp: t0, Value: 1}}}}})).StatusCode)
	}
	got := query(t, db, "alias")
	require.Len(t, got, 50)
	for i := range 50 {
		require.Contains(t, got, `{__name__="alias", i="`+strconv.Itoa(i)+`"}`)
	}
	require.Len(t, query(t, db, "alias1"), 50)
}

// recordMeta wraps the real TSDB and records the metadata each Append got.
type recordMeta struct {
	*teststorage.TestStorage
	mu   sync.Mutex
	meta []string
}

func (s *recordMeta) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return &recordMetaApp{ExemplarAppenderV2: s.TestStorage.AppenderV2(ctx).(storage.ExemplarAppenderV2), s: s}
}

type recordMetaApp struct {
	storage.ExemplarAppenderV2
	s *recordMeta
}

func (a *recordMetaApp) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, o storage.AOptions) (storage.SeriesRef, error) {
	a.s.mu.Lock()
	a.s.meta = append(a.s.meta, string(o.Metadata.Type)+"|"+o.Metadata.Unit+"|"+o.Metadata.Help)
	a.s.mu.Unlock()
	return a.ExemplarAppenderV2.Append(ref, ls, st, t, v, h, fh, o)
}

func TestMetadataAndTypeUnitLabels(t *testing.T) {
	s := &recordMeta{TestStorage: newStorage(t)}
	srv := serve(t, Options{Appendable: func(string) (storage.AppendableV2, error) { return s, nil }, AppendMetadata: true, EnableTypeAndUnitLabels: true})
	t0 := nowMs()
	for i := range 2 {
		b := newV2()
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "tu", "__unit__", "wrong"), Samples: []writev2.Sample{{Timestamp: t0 + int64(i), Value: 1}},
			Metadata: writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: b.sym("Some help."), UnitRef: b.sym("seconds")}})
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "tu_plain"), Samples: []writev2.Sample{{Timestamp: t0 + int64(i), Value: 1}}})
		resp := post(t, srv.URL, ctV2, "snappy", encV2(t, &b.req))
		require.Equal(t, http.StatusNoContent, resp.StatusCode, body(t, resp))
	}
	require.Equal(t, []string{"counter|seconds|Some help.", "unknown||", "counter|seconds|Some help.", "unknown||"}, s.meta)
	got := query(t, s, "tu")
	require.Contains(t, got, `{__name__="tu", __type__="counter", __unit__="seconds"}`)
	require.Len(t, got[`{__name__="tu", __type__="counter", __unit__="seconds"}`].floats, 2)
	require.Len(t, query(t, s, "tu_plain")[`{__name__="tu_plain"}`].floats, 2)
}

// chunked hides the length of a body, as a chunked request does.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestConcurrentRequests(t *testing.T) {
	db := newStorage(t)
	srv := serve(t, Options{Appendable: func(string) (storage.AppendableV2, error) { return db, nil }})
	t0 := nowMs()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				var req *http.Request
				if g%2 == 0 {
					b := newV2()
					for j := range 50 {
						b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "conc", "g", strconv.Itoa(g), "j", strconv.Itoa(j)), Samples: []writev2.Sample{{Timestamp: t0 + int64(i), Value: float64(i)}}})
					}
					req, _ = http.NewRequest(http.MethodPost, srv.URL, chunked{bytes.NewReader(encV2(t, &b.req))})
					req.Header.Set("Content-Type", ctV2)
				} else {
					w := &prompb.WriteRequest{}
					for j := range 50 {
						w.Timeseries = append(w.Timeseries, prompb.TimeSeries{Labels: lbls("__name__", "conc", "g", strconv.Itoa(g), "j", strconv.Itoa(j)), Samples: []prompb.Sample{{Timestamp: t0 + int64(i), Value: float64(i)}}})
					}
					req, _ = http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(encV1(t, w)))
					req.Header.Set("Content-Type", ctV1)
				}
				req.Header.Set("Content-Encoding", "snappy")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				if resp.StatusCode != http.StatusNoContent {
					t.Errorf("status %d: %s", resp.StatusCode, body(t, resp))
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	got := query(t, db, "conc")
	require.Len(t, got, 200)
	for k, st := range got {
		require.Len(t, st.floats, 20, k)
	}
}

func TestParseProto(t *testing.T) {
	for ct, want := range map[string]Proto{
		"application/x-protobuf":                                          ProtoV1,
		"application/x-protobuf;proto=prometheus.WriteRequest":            ProtoV1,
		"application/x-protobuf;proto=io.prometheus.write.v2.Request":     ProtoV2,
		" application/x-protobuf;proto=io.prometheus.write.v2.Request ":   ProtoV2,
		"application/x-protobuf;charset=utf-8":                            ProtoV1,
		"application/x-protobuf;a=b;proto=io.prometheus.write.v2.Request": ProtoV2,
		"application/x-protobuf; proto=io.prometheus.write.v2.Request":    ProtoV1, // " proto" is not "proto", as upstream
		"application/json":                 "",
		"application/x-protobuf;proto=foo": "",
		"application/x-protobuf;proto":     "",
		"application/x-protobuf;proto=a=b": "",
	} {
		got, err := parseProto(ct)
		require.Equal(t, want, got, ct)
		require.Equal(t, want == "", err != nil, ct)
	}
}

// swappable returns whichever storage it currently holds.
type swappable struct {
	mu sync.Mutex
	s  storage.AppendableV2
}

func (w *swappable) get(string) (storage.AppendableV2, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.s, nil
}

// TestRefCacheHitWithoutLabels checks the paths of a cache hit, which appends
// with the ref alone: a ref the storage does not know (here planted in the
// cache; upstream's head then fails on the empty labels) is retried with
// the labels, and a storage replaced under a tenant (whose refs may name
// other series) starts a fresh cache.
func TestRefCacheHitWithoutLabels(t *testing.T) {
	s1 := newStorage(t)
	sw := &swappable{s: s1}
	h := NewHandler(Options{Appendable: sw.get}).(*handler)
	srv := serve(t, Options{})
	srv.Config.Handler = h
	t0 := nowMs()
	req := func(i int) []byte {
		b := newV2()
		for j := range 3 {
			b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "c", "j", strconv.Itoa(j)), Samples: []writev2.Sample{{Timestamp: t0 + int64(i), Value: float64(i)}}})
		}
		return encV2(t, &b.req)
	}
	send := func(i int) {
		resp := post(t, srv.URL, ctV2, "snappy", req(i))
		require.Equal(t, http.StatusNoContent, resp.StatusCode, body(t, resp))
	}
	// Plant unknown refs for all three series.
	var r v2Request
	raw, err := snappy.Decode(nil, req(0))
	require.NoError(t, err)
	require.NoError(t, r.decode(raw))
	c := h.cache(DefaultTenant, s1)
	for _, ts := range r.series {
		syms := make([]seriesHash, len(r.symbols))
		for i, sym := range r.symbols {
			syms[i] = symbolHash(h.seeds, sym)
		}
		hs, ok := hashSymbols(r.refs[ts.labelRefs.lo:ts.labelRefs.hi], syms)
		require.True(t, ok)
		c.put(hs, 1<<30)
	}
	send(0)
	send(1)
	got := query(t, s1, "c")
	require.Len(t, got, 3)
	for _, st := range got {
		require.Equal(t, [][2]float64{{float64(t0), 0}, {float64(t0 + 1), 1}}, st.floats)
	}
	require.Equal(t, 3, c.len())

	// A new storage for the tenant: its refs start over.
	s2 := newStorage(t)
	// Give s2 other series first so that its refs name other series than s1's.
	b := newV2()
	for j := range 3 {
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "other", "j", strconv.Itoa(j)), Samples: []writev2.Sample{{Timestamp: t0, Value: 7}}})
	}
	sw.mu.Lock()
	sw.s = s2
	sw.mu.Unlock()
	resp := post(t, srv.URL, ctV2, "snappy", encV2(t, &b.req))
	require.Equal(t, http.StatusNoContent, resp.StatusCode, body(t, resp))
	send(2)
	got = query(t, s2, "c")
	require.Len(t, got, 3)
	for _, st := range got {
		require.Equal(t, [][2]float64{{float64(t0 + 2), 2}}, st.floats)
	}
	for _, st := range query(t, s2, "other") {
		require.Equal(t, [][2]float64{{float64(t0), 7}}, st.floats)
	}
}
