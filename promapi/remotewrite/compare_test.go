package remotewrite

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

// prometheusBinary finds the reference binary built by `make ref`.
func prometheusBinary(t *testing.T) string {
	if p := os.Getenv("PROMETHEUS_BINARY"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		t.Fatalf("PROMETHEUS_BINARY=%s does not exist: run make ref", p)
	}
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("module root not found: run make ref")
		}
		dir = parent
	}
	p := filepath.Join(dir, ".cache", "ref", "v0.316.0", "prometheus")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("reference prometheus missing at %s: run make ref", p)
	}
	return p
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// startPrometheus runs the reference server with the remote-write receiver
// and exemplar storage, and returns its write URL.
func startPrometheus(t *testing.T) string {
	bin := prometheusBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("global: {}\n"), 0o644))
	addr := freePort(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.enable-remote-write-receiver",
		"--enable-feature=exemplar-storage",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus logs:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "http://" + addr + "/api/v1/write"
}

type rwCase struct {
	name        string
	contentType string
	encoding    string
	body        []byte
}

type rwAnswer struct {
	Status                         int
	Body                           string
	Samples, Histograms, Exemplars []string
}

func answer(t *testing.T, url string, c rwCase) rwAnswer {
	resp := post(t, url, c.contentType, c.encoding, c.body)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return rwAnswer{
		Status:     resp.StatusCode,
		Body:       string(b),
		Samples:    resp.Header.Values(samplesWrittenHeader),
		Histograms: resp.Header.Values(histogramsWrittenHeader),
		Exemplars:  resp.Header.Values(exemplarsWrittenHeader),
	}
}

func lbls(kv ...string) []prompb.Label {
	var out []prompb.Label
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// v2req builds a 2.0 request from series given as label pairs.
type v2builder struct {
	req  writev2.Request
	syms map[string]uint32
}

func newV2() *v2builder {
	return &v2builder{req: writev2.Request{Symbols: []string{""}}, syms: map[string]uint32{"": 0}}
}

func (b *v2builder) sym(s string) uint32 {
	if r, ok := b.syms[s]; ok {
		return r
	}
	r := uint32(len(b.req.Symbols))
	b.req.Symbols = append(b.req.Symbols, s)
	b.syms[s] = r
	return r
}

func (b *v2builder) refs(kv ...string) []uint32 {
	var out []uint32
	for _, s := range kv {
		out = append(out, b.sym(s))
	}
	return out
}

func (b *v2builder) series(ts writev2.TimeSeries) *v2builder {
	b.req.Timeseries = append(b.req.Timeseries, ts)
	return b
}

func testHistogram(i int) *histogram.Histogram {
	return &histogram.Histogram{
		Count: uint64(9 + i), ZeroCount: 2, ZeroThreshold: 0.001, Sum: 18.4 + float64(i), Schema: 1,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 2}}, PositiveBuckets: []int64{1, 1, -1, 0},
		NegativeSpans: []histogram.Span{{Offset: 0, Length: 2}}, NegativeBuckets: []int64{1, int64(i)},
	}
}

func testCustomFloatHistogram(i int) *histogram.FloatHistogram {
	return &histogram.FloatHistogram{
		Schema: histogram.CustomBucketsSchema, Count: 6 + float64(i), Sum: 30.5,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 3}}, PositiveBuckets: []float64{1, 2, 3 + float64(i)},
		CustomValues: []float64{1, 5, 10},
	}
}

// compareCases is the table sent to both servers, in order (later cases
// depend on what earlier ones stored). t0 is a recent timestamp.
func compareCases(t *testing.T, t0 int64) []rwCase {
	v1 := func(name string, req *prompb.WriteRequest) rwCase {
		return rwCase{name: name, contentType: ctV1, encoding: "snappy", body: encV1(t, req)}
	}
	v2 := func(name string, b *v2builder) rwCase {
		return rwCase{name: name, contentType: ctV2, encoding: "snappy", body: encV2(t, &b.req)}
	}
	oneV1 := func(name string, ts, v float64, kv ...string) *prompb.WriteRequest {
		return &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: lbls(append([]string{"__name__", name}, kv...)...), Samples: []prompb.Sample{{Timestamp: int64(ts), Value: v}}}}}
	}
	var cases []rwCase

	cases = append(cases, v1("v1 good", &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("__name__", "cmp_v1_good", "job", "a"), Samples: []prompb.Sample{{Timestamp: t0, Value: 1}, {Timestamp: t0 + 1000, Value: 2}},
			Exemplars: []prompb.Exemplar{{Labels: lbls("trace_id", "abc"), Value: 1, Timestamp: t0}}},
		{Labels: lbls("__name__", "cmp_v1_hist", "job", "a"), Histograms: []prompb.Histogram{prompb.FromIntHistogram(t0, testHistogram(0)), prompb.FromIntHistogram(t0+1000, testHistogram(1))}},
		{Labels: lbls("__name__", "cmp_v1_fhist", "job", "a"), Histograms: []prompb.Histogram{prompb.FromFloatHistogram(t0, testCustomFloatHistogram(0))}},
	}}))
	{
		b := newV2()
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_v2_good", "job", "b"),
			Samples:   []writev2.Sample{{Timestamp: t0, Value: 1, StartTimestamp: t0 - 5000}, {Timestamp: t0 + 1000, Value: 3, StartTimestamp: t0 - 5000}},
			Exemplars: []writev2.Exemplar{{LabelsRefs: b.refs("trace_id", "x1"), Value: 1, Timestamp: t0}, {LabelsRefs: b.refs("trace_id", "x2"), Value: 3, Timestamp: t0 + 1000}},
			Metadata:  writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: b.sym("help text"), UnitRef: b.sym("seconds")}})
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_v2_hist", "job", "b"),
			Histograms: []writev2.Histogram{writev2.FromIntHistogram(0, t0, testHistogram(0)), writev2.FromIntHistogram(0, t0+1000, testHistogram(2))}})
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_v2_fhist", "job", "b"),
			Histograms: []writev2.Histogram{writev2.FromFloatHistogram(0, t0, testCustomFloatHistogram(0)), writev2.FromFloatHistogram(0, t0+1000, testCustomFloatHistogram(1))},
			Exemplars:  []writev2.Exemplar{{LabelsRefs: b.refs("trace_id", "h1"), Value: 2, Timestamp: t0}}})
		cases = append(cases, v2("v2 good", b))
	}

	cases = append(cases,
		rwCase{name: "v1 bad snappy", contentType: ctV1, encoding: "snappy", body: []byte("this is not snappy")},
		rwCase{name: "v2 bad snappy", contentType: ctV2, encoding: "snappy", body: []byte{0xff, 0xff, 0xff}},
		rwCase{name: "v1 bad proto", contentType: ctV1, encoding: "snappy", body: snappy.Encode(nil, []byte{0x0a, 0x05, 0x0a, 0x03})},
		rwCase{name: "v1 bad proto wire type", contentType: ctV1, encoding: "snappy", body: snappy.Encode(nil, []byte{0x08, 0x01})},
		rwCase{name: "v2 bad proto", contentType: ctV2, encoding: "snappy", body: snappy.Encode(nil, []byte{0x2a, 0x02, 0x12, 0x07})},
		rwCase{name: "v2 illegal tag", contentType: ctV2, encoding: "snappy", body: snappy.Encode(nil, []byte{0x00})},
		rwCase{name: "wrong content type", contentType: "application/json", encoding: "snappy", body: encV1(t, oneV1("cmp_ct", float64(t0), 1))},
		rwCase{name: "unknown proto", contentType: "application/x-protobuf;proto=io.prometheus.write.v3.Request", encoding: "snappy", body: encV1(t, oneV1("cmp_ct", float64(t0), 1))},
		rwCase{name: "bad parameter", contentType: "application/x-protobuf;foo", encoding: "snappy", body: encV1(t, oneV1("cmp_ct", float64(t0), 1))},
		rwCase{name: "gzip encoding", contentType: ctV1, encoding: "gzip", body: encV1(t, oneV1("cmp_ct", float64(t0), 1))},
		rwCase{name: "no content type", encoding: "snappy", body: encV1(t, oneV1("cmp_noct", float64(t0), 1))},
		rwCase{name: "plain x-protobuf", contentType: "application/x-protobuf", encoding: "snappy", body: encV1(t, oneV1("cmp_plain", float64(t0), 1))},
		rwCase{name: "no encoding, snappy body", contentType: ctV1, body: encV1(t, oneV1("cmp_noenc", float64(t0), 1))},
		rwCase{name: "v1 empty", contentType: ctV1, encoding: "snappy", body: snappy.Encode(nil, nil)},
		rwCase{name: "v2 empty", contentType: ctV2, encoding: "snappy", body: snappy.Encode(nil, nil)},
		rwCase{name: "empty body", contentType: ctV2, encoding: "snappy", body: nil},
		rwCase{name: "decoded size too large", contentType: ctV1, encoding: "snappy", body: []byte{0x80, 0x80, 0x80, 0x20, 0x00}},
		rwCase{name: "body too large", contentType: ctV1, encoding: "snappy", body: bytes.Repeat([]byte{1}, maxDecodedSize+10)},
	)

	// Out of order, duplicate, too old, too new.
	cases = append(cases, v1("v1 ooo setup", oneV1("cmp_ooo_v1", float64(t0+10000), 1)))
	cases = append(cases, v1("v1 out of order", &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("__name__", "cmp_ooo_v1_other"), Samples: []prompb.Sample{{Timestamp: t0, Value: 5}}},
		{Labels: lbls("__name__", "cmp_ooo_v1"), Samples: []prompb.Sample{{Timestamp: t0 + 5000, Value: 2}}},
	}}))
	cases = append(cases, v1("v1 rolled back series", oneV1("cmp_ooo_v1_other", float64(t0-1), 1))) // 204 iff the previous request was rolled back
	cases = append(cases, v1("v1 duplicate", oneV1("cmp_ooo_v1", float64(t0+10000), 7)))
	cases = append(cases, v1("v1 same duplicate", oneV1("cmp_ooo_v1", float64(t0+10000), 1)))
	cases = append(cases, v1("v1 too old", oneV1("cmp_ooo_v1", float64(t0-3*3600*1000), 1)))
	cases = append(cases, v1("v1 too new", oneV1("cmp_ooo_v1", float64(t0+3600*1000), 1)))
	{
		b := newV2()
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_ooo_v2"), Samples: []writev2.Sample{{Timestamp: t0 + 10000, Value: 1}}})
		cases = append(cases, v2("v2 ooo setup", b))
		b = newV2()
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_ooo_v2"), Samples: []writev2.Sample{{Timestamp: t0 + 5000, Value: 1}, {Timestamp: t0 + 10000, Value: 9}, {Timestamp: t0 + 11000, Value: 2}}})
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_ooo_v2_other"), Samples: []writev2.Sample{{Timestamp: t0, Value: 1}}})
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_ooo_v2_far"), Samples: []writev2.Sample{{Timestamp: t0 + 3600*1000, Value: 1}}})
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_ooo_v2", "le", "old"), Samples: []writev2.Sample{{Timestamp: t0 - 3*3600*1000, Value: 1}}})
		cases = append(cases, v2("v2 partial write", b))
		b = newV2()
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_ooo_v2_other"), Samples: []writev2.Sample{{Timestamp: t0 + 1, Value: 1}}})
		cases = append(cases, v2("v2 partial write was committed", b))
		b = newV2()
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_v2_good", "job", "b"), Samples: []writev2.Sample{{Timestamp: t0 + 2000, Value: 4}},
			Exemplars: []writev2.Exemplar{{LabelsRefs: b.refs("trace_id", "old"), Value: 1, Timestamp: t0 - 1000}}})
		cases = append(cases, v2("v2 out of order exemplar", b))
		b = newV2()
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_v2_hist", "job", "b"), Histograms: []writev2.Histogram{writev2.FromIntHistogram(0, t0+500, testHistogram(3))}})
		cases = append(cases, v2("v2 out of order histogram", b))
	}

	// Invalid series.
	cases = append(cases, v1("v1 no name", &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("job", "x"), Samples: []prompb.Sample{{Timestamp: t0, Value: 1}}},
		{Labels: lbls("__name__", "cmp_v1_valid"), Samples: []prompb.Sample{{Timestamp: t0, Value: 1}}},
	}}))
	cases = append(cases, v1("v1 duplicate label", oneV1("cmp_dup", float64(t0), 1, "a", "1", "a", "2")))
	cases = append(cases, v1("v1 invalid utf8", oneV1("cmp_utf8", float64(t0), 1, "a", "\xff")))
	cases = append(cases, v1("v1 unicode", oneV1("cmp_unicode", float64(t0), 1, "métrique", "日本語🔥")))
	{
		b := newV2()
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("job", "x"), Samples: []writev2.Sample{{Timestamp: t0, Value: 1}}})
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_v2_dup", "a", "1", "a", "2"), Samples: []writev2.Sample{{Timestamp: t0, Value: 1}}})
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_v2_nosamples")})
		b.series(writev2.TimeSeries{LabelsRefs: []uint32{1, 99}, Samples: []writev2.Sample{{Timestamp: t0, Value: 1}}})
		b.series(writev2.TimeSeries{LabelsRefs: []uint32{1}, Samples: []writev2.Sample{{Timestamp: t0, Value: 1}}})
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_v2_badmeta"), Samples: []writev2.Sample{{Timestamp: t0, Value: 1}}, Metadata: writev2.Metadata{HelpRef: 1000}})
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_v2_badex"), Samples: []writev2.Sample{{Timestamp: t0, Value: 1}}, Exemplars: []writev2.Exemplar{{LabelsRefs: []uint32{5000, 1}, Timestamp: t0}}})
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_v2_valid", "métrique", "日本語🔥"), Samples: []writev2.Sample{{Timestamp: t0, Value: 1}}})
		cases = append(cases, v2("v2 invalid series", b))
		b = newV2()
		bad := testHistogram(0)
		bad.Count = 1 // fewer than the buckets hold
		b.series(writev2.TimeSeries{LabelsRefs: b.refs("__name__", "cmp_v2_badhist"), Histograms: []writev2.Histogram{writev2.FromIntHistogram(0, t0, bad)}})
		cases = append(cases, v2("v2 invalid histogram", b))
		b = newV2()
		b.req.Symbols = nil
		b.series(writev2.TimeSeries{Samples: []writev2.Sample{{Timestamp: t0, Value: 1}}})
		cases = append(cases, v2("v2 no symbols", b))
	}
	bad := testHistogram(0)
	bad.Count = 1
	cases = append(cases, v1("v1 invalid histogram", &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("__name__", "cmp_v1_badhist"), Histograms: []prompb.Histogram{prompb.FromIntHistogram(t0, bad)}}}}))
	return cases
}

// TestSameAnswersAsPrometheus sends one table of good and bad requests to the
// real Prometheus 3.16 and to our handler over the real TSDB, and compares the
// status codes, 2.0 written-count headers and response bodies.
func TestSameAnswersAsPrometheus(t *testing.T) {
	promURL := startPrometheus(t)
	db := newStorage(t)
	ours := httptest.NewServer(NewHandler(Options{Appendable: func(string) (storage.AppendableV2, error) { return db, nil }}))
	defer ours.Close()

	t0 := nowMs() - 60_000
	for _, c := range compareCases(t, t0) {
		want := answer(t, promURL, c)
		got := answer(t, ours.URL, c)
		require.Equal(t, want, got, "case %q", c.name)
		t.Logf("%-32s %d %q", c.name, got.Status, shorten(got.Body))
	}
	// And both stored the same data.
	at := t0 + 5*60*1000
	want := promStored(t, promURL, at)
	require.NotEmpty(t, want)
	require.Equal(t, want, ourStored(t, db, at))
	t.Logf("stored data identical: %d series", len(want))
}

func shorten(s string) string {
	if len(s) > 100 {
		return s[:100] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}
