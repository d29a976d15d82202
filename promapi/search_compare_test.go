package promapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
)

// plainStorage hides every optional interface of the TSDB's querier (its
// storage.Searcher above all): the search API then searches through
// LabelNames/LabelValues, which is what it does over mytsdb's storage.
type plainStorage struct{ *teststorage.TestStorage }

func (s plainStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := s.TestStorage.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return struct{ storage.Querier }{q}, nil
}

// searchLimit is the --web.search.max-limit both servers run with.
const searchLimit = "50"

// TestSearchAPIMatchesPrometheus compares the search endpoints with the real
// Prometheus started with --enable-feature=search-api: the NDJSON stream
// byte for byte (results, scores, batches, has_more), and every parameter
// error (400 with Prometheus's message, the max-limit one included).
func TestSearchAPIMatchesPrometheus(t *testing.T) {
	ref := startPrometheus(t, compareConfig, "--enable-feature=search-api", "--web.search.max-limit="+searchLimit)
	base := dataBase()
	set := testDataSet(base)
	remoteWrite(t, ref.URL, writeRequest(set, base))
	// Ours twice: over a querier that is not a storage.Searcher (as
	// mytsdb's storage), and over the TSDB's own Searcher.
	var servers []*httptest.Server
	for _, native := range []bool{false, true} {
		api, _ := newTestAPI(t, ref.ConfigFile, func(o *Options, st *teststorage.TestStorage) {
			o.EnableSearch = true
			o.MaxSearchLimit = 50
			if !native {
				o.Storage = func(string) (TenantStorage, error) { return plainStorage{st}, nil }
				return
			}
			q, err := st.Querier(0, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if _, ok := q.(storage.Searcher); !ok {
				t.Fatalf("the TSDB's querier %T is not a storage.Searcher", q)
			}
		})
		mux := http.NewServeMux()
		mux.Handle("/api/v1/", api.Handler())
		srv := httptest.NewServer(mux)
		defer srv.Close()
		remoteWrite(t, srv.URL, writeRequest(set, base))
		servers = append(servers, srv)
	}

	rng := "&start=" + sec(base-60_000) + "&end=" + sec(base+dataPoints*dataStepMs)
	get := func(path string) apiCase { return apiCase{name: path, path: path} }
	cases := []apiCase{
		get("/api/v1/search/metric_names?" + rng[1:]),
		get("/api/v1/search/metric_names?search[]=test" + rng),
		get("/api/v1/search/metric_names?search[]=tst&include_score=true" + rng),
		get("/api/v1/search/metric_names?search[]=gauge&fuzz_alg=jarowinkler&include_score=true" + rng),
		get("/api/v1/search/metric_names?search[]=requsts&fuzz_alg=jarowinkler&fuzz_threshold=70&include_score=true" + rng),
		get("/api/v1/search/metric_names?search[]=TEST_G&case_sensitive=false&include_score=true" + rng),
		get("/api/v1/search/metric_names?search[]=TEST_G" + rng),
		get("/api/v1/search/metric_names?search[]=hist&search[]=req&include_score=true&sort_by=score" + rng),
		get("/api/v1/search/metric_names?sort_by=alpha&sort_dir=dsc" + rng),
		get("/api/v1/search/metric_names?limit=2&batch_size=1" + rng),
		get("/api/v1/search/metric_names?limit=50&batch_size=2" + rng),
		get("/api/v1/search/metric_names?include_metadata=true&search[]=test_r" + rng),
		get("/api/v1/search/metric_names?search[]=t&fuzz_threshold=40&include_score=true&sort_by=score" + rng),
		get("/api/v1/search/metric_names?match[]={job=\"api\"}&match[]={job=\"db\"}" + rng),
		get("/api/v1/search/metric_names?search[]=é" + rng),
		get("/api/v1/search/metric_names?start=0&end=1"),
		get("/api/v1/search/label_names?" + rng[1:]),
		get("/api/v1/search/label_names?search[]=in&include_score=true&sort_by=score" + rng),
		get("/api/v1/search/label_names?match[]=test_histogram" + rng),
		get("/api/v1/search/label_names?search[]=label.&fuzz_alg=jarowinkler&include_score=true" + rng),
		get("/api/v1/search/label_values?label=instance" + rng),
		get("/api/v1/search/label_values?label=job&search[]=a&include_score=true&sort_by=score" + rng),
		get("/api/v1/search/label_values?label=path&search[]=%3Cb%3E" + rng),
		get("/api/v1/search/label_values?label=instance&match[]=test_gauge{job=\"db\"}" + rng),
		get("/api/v1/search/label_values?label=nosuchlabel" + rng),
		{name: "POST label_values", method: http.MethodPost, path: "/api/v1/search/label_values",
			form: url.Values{"label": {"job"}, "search[]": {"ap"}, "start": {sec(base - 60_000)}, "end": {sec(base + dataPoints*dataStepMs)}}},
		// Errors before the stream.
		get("/api/v1/search/metric_names?limit=51"),
		get("/api/v1/search/metric_names?limit=0"),
		get("/api/v1/search/metric_names?limit=x"),
		get("/api/v1/search/metric_names?batch_size=-1"),
		get("/api/v1/search/metric_names?fuzz_threshold=101"),
		get("/api/v1/search/metric_names?fuzz_alg=levenshtein"),
		get("/api/v1/search/metric_names?case_sensitive=maybe"),
		get("/api/v1/search/metric_names?include_score=2"),
		get("/api/v1/search/metric_names?include_metadata=nope"),
		get("/api/v1/search/metric_names?sort_dir=asc"),
		get("/api/v1/search/metric_names?sort_by=score&sort_dir=dsc&search[]=x"),
		get("/api/v1/search/metric_names?sort_by=alpha&sort_dir=up"),
		get("/api/v1/search/metric_names?sort_by=score"),
		get("/api/v1/search/metric_names?sort_by=length"),
		get("/api/v1/search/label_values?search[]=x"),
		get("/api/v1/search/label_values?label=job&start=10&end=5"),
		get("/api/v1/search/label_values?label=job&start=yesterday"),
		get("/api/v1/search/label_names?match[]={job=~\".*\"}"),
		get("/api/v1/search/label_names?match[]=up{"),
		get("/api/v1/search/label_names?" + strings.Repeat("search[]=a&", 33)),
		{name: "PUT", method: http.MethodPut, path: "/api/v1/search/label_names"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := do(t, ref.URL, c)
			for _, ours := range servers {
				compareAnswers(t, c, want, do(t, ours.URL, c))
			}
			if testing.Verbose() {
				t.Logf("%d %s", want.code, want.body)
			}
			if c.name == cases[1].name && !strings.Contains(string(want.body), `"test_gauge"`) {
				t.Fatalf("the reference found nothing: the comparison proves little: %s", want.body)
			}
		})
	}
}

// TestSearchWithoutFeatureOrInAgentMode: without the feature every search
// endpoint answers 500 "search API disabled"; in agent mode with it, 422
// "unavailable with Prometheus Agent" (the agent's own check comes second,
// as in Prometheus).
func TestSearchWithoutFeatureOrInAgentMode(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		code int
		body string
	}{
		{Options{}, 500, `{"status":"error","errorType":"unavailable","error":"search API disabled"}`},
		{Options{Agent: true}, 500, `{"status":"error","errorType":"unavailable","error":"search API disabled"}`},
		{Options{Agent: true, EnableSearch: true}, 422, `{"status":"error","errorType":"execution","error":"unavailable with Prometheus Agent"}`},
	} {
		api := New(tc.opts)
		srv := httptest.NewServer(api.Handler())
		for _, p := range []string{"metric_names?limit=100000", "label_names", "label_values?label=x&limit=0"} {
			a := do(t, srv.URL, apiCase{path: "/api/v1/search/" + p})
			if a.code != tc.code || string(a.body) != tc.body {
				t.Errorf("%+v %s: %d %s, want %d %s", tc.opts, p, a.code, a.body, tc.code, tc.body)
			}
		}
		srv.Close()
	}
}
