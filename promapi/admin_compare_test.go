package promapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/util/teststorage"
)

// The delete_series defaults in milliseconds: timestamp.FromTime of
// Prometheus's MinTime (time.Unix(math.MinInt64/1000+62135596801, 0)) and
// MaxTime (time.Unix(math.MaxInt64/1000-62135596801, 999999999)).
const (
	defaultDeleteMint int64 = -9223309901257974000
	defaultDeleteMaxt int64 = 9223309901257974999
)

// snapshotNameRE is the shape of Prometheus's snapshot names:
// time.Now().UTC().Format("20060102T150405Z0700") + "-" + %016x of a
// rand.Int63.
var snapshotNameRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-7][0-9a-f]{15}$`)

// adminRecorder records the admin calls the API makes.
type adminRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *adminRecorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
}

// take returns and forgets the calls recorded so far.
func (r *adminRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func deleteCall(tenant string, mint, maxt int64, ms ...string) string {
	return fmt.Sprintf("%s: delete [%d, %d] %s", tenant, mint, maxt, strings.Join(ms, ", "))
}

// recordingAdmin is a tenant's storage whose admin calls are recorded and
// then, when db is set, applied to a real Prometheus TSDB.
type recordingAdmin struct {
	TenantStorage
	db interface {
		Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error
		CleanTombstones() error
	}
	tenant string
	rec    *adminRecorder
	err    error // returned by every call, when set
}

func (s *recordingAdmin) DeleteSeries(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	var strs []string
	for _, m := range ms {
		strs = append(strs, m.String())
	}
	s.rec.add("%s", deleteCall(s.tenant, mint, maxt, strs...))
	if s.err != nil {
		return s.err
	}
	if s.db == nil {
		return nil
	}
	return s.db.Delete(ctx, mint, maxt, ms...)
}

func (s *recordingAdmin) CleanTombstones(context.Context) error {
	s.rec.add("%s: clean tombstones", s.tenant)
	if s.err != nil {
		return s.err
	}
	if s.db == nil {
		return nil
	}
	return s.db.CleanTombstones()
}

// adminCase is a request sent to both servers, with the admin calls ours
// must make for it.
type adminCase struct {
	apiCase
	calls []string // what the recorder must have seen (none if empty)
	// check compares the data of both servers afterwards (the case may
	// have deleted something).
	check bool
}

// snapshotNames replaces data.name by its shape, so that both servers'
// snapshot answers compare equal when the names are well-formed.
func snapshotNames(v any) any {
	if d := at(v, "data"); d != nil {
		if n, ok := d["name"].(string); ok {
			if snapshotNameRE.MatchString(n) {
				d["name"] = "<well-formed name>"
			} else {
				d["name"] = "<malformed name> " + n
			}
		}
	}
	return v
}

func TestCompareAdminWithPrometheus(t *testing.T) {
	ref := startPrometheus(t, compareConfig, "--web.enable-admin-api")
	rec := &adminRecorder{}
	ourData := t.TempDir()
	api, _ := newTestAPI(t, ref.ConfigFile, func(o *Options, st *teststorage.TestStorage) {
		o.EnableAdmin = true
		o.Storage = func(tenant string) (TenantStorage, error) {
			return &recordingAdmin{TenantStorage: headBounds{st}, db: st.DB, tenant: tenant, rec: rec}, nil
		}
		o.Snapshot = func(_ context.Context, name string, withHead bool) error {
			rec.add("snapshot %s withHead=%t", name, withHead)
			// As Prometheus's API does before it calls the TSDB (which
			// writes nothing without blocks and head).
			dir := filepath.Join(ourData, "snapshots", name)
			if err := os.MkdirAll(dir, 0o777); err != nil {
				return err
			}
			return st.Snapshot(dir, withHead)
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api.Handler())
	ours := httptest.NewServer(mux)
	defer ours.Close()

	base := dataBase()
	set := testDataSet(base)
	remoteWrite(t, ref.URL, writeRequest(set, base))
	remoteWrite(t, ours.URL, writeRequest(set, base))
	end := base + (dataPoints-1)*dataStepMs
	step := func(i int64) int64 { return base + i*dataStepMs }

	// The data both servers hold, compared after every case that may have
	// changed it: every series, and every sample (15s step over the data).
	state := []apiCase{
		{name: "series", path: "/api/v1/series?" + url.Values{"match[]": {`{__name__=~".+"}`}}.Encode()},
		{name: "samples", path: "/api/v1/query_range?" + url.Values{
			"query": {`{__name__=~".+"}`}, "start": {sec(base)}, "end": {sec(end)}, "step": {"15s"}, "lookback_delta": {"1ms"},
		}.Encode()},
	}
	compareState := func(t *testing.T) {
		t.Helper()
		for _, c := range state {
			compareAnswers(t, c, do(t, ref.URL, c), do(t, ours.URL, c))
		}
	}
	compareState(t)
	samplesBefore := countSamples(t, do(t, ref.URL, state[1]).body)

	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	const del, clean, snap = "/api/v1/admin/tsdb/delete_series", "/api/v1/admin/tsdb/clean_tombstones", "/api/v1/admin/tsdb/snapshot"
	post := func(name, path string, f url.Values) apiCase {
		return apiCase{name: name, method: http.MethodPost, path: path, form: f}
	}
	put := func(name, path string, f url.Values) apiCase {
		return apiCase{name: name, method: http.MethodPut, path: path, form: f}
	}
	dflt := func(ms ...string) string {
		return deleteCall(DefaultTenant, defaultDeleteMint, defaultDeleteMaxt, ms...)
	}
	cases := []adminCase{
		// delete_series: parameter errors (no storage call).
		{apiCase: post("delete no match", del, form())},
		{apiCase: put("delete no match PUT", del, form("start", "1"))},
		{apiCase: apiCase{name: "delete no body", method: http.MethodPost, path: del}},
		{apiCase: apiCase{name: "delete GET", path: del + "?match[]=test_gauge"}},
		{apiCase: apiCase{name: "delete DELETE", method: http.MethodDelete, path: del + "?match[]=test_gauge"}},
		{apiCase: post("delete bad selector", del, form("match[]", `{job=`))},
		{apiCase: post("delete query not selector", del, form("match[]", `sum(test_gauge)`))},
		{apiCase: post("delete bad start", del, form("match[]", "test_gauge", "start", "x"))},
		{apiCase: post("delete bad end", del, form("match[]", "test_gauge", "end", "yesterday"))},
		{apiCase: post("delete bad start and end", del, form("match[]", "{", "start", "x", "end", "y"))},
		{apiCase: apiCase{name: "delete bad form", method: http.MethodPost, path: del, raw: "match[]=%zz"}},
		{apiCase: apiCase{name: "delete bad query string", method: http.MethodPost, path: del + "?match[]=%zz", form: form("match[]", "test_gauge")}},
		// delete_series: deletions.
		{
			apiCase: post("delete start after end", del, form("match[]", "test_gauge", "start", sec(end+60000), "end", sec(base))),
			calls:   []string{deleteCall(DefaultTenant, end+60000, base, `__name__="test_gauge"`)},
			check:   true,
		},
		{
			apiCase: post("delete range", del, form("match[]", `test_gauge{instance="a"}`, "start", sec(step(5)), "end", sec(step(10)))),
			calls:   []string{deleteCall(DefaultTenant, step(5), step(10), `instance="a"`, `__name__="test_gauge"`)},
			check:   true,
		},
		{
			apiCase: apiCase{name: "delete PUT rfc3339 in query string", method: http.MethodPut, path: del + "?" + url.Values{
				"match[]": {`test_requests_total{instance="b"}`}, "start": {rfc(step(30))}, "end": {rfc(step(32) + 500)},
			}.Encode()},
			calls: []string{deleteCall(DefaultTenant, step(30), step(32)+500, `instance="b"`, `__name__="test_requests_total"`)},
			check: true,
		},
		{
			apiCase: post("delete only start", del, form("match[]", `test_gauge{instance="b"}`, "start", sec(step(35))+".0004")),
			calls:   []string{deleteCall(DefaultTenant, step(35), defaultDeleteMaxt, `instance="b"`, `__name__="test_gauge"`)},
			check:   true,
		},
		{
			apiCase: post("delete only end", del, form("match[]", `test_gauge{instance="c"}`, "end", sec(step(2)))),
			calls:   []string{deleteCall(DefaultTenant, defaultDeleteMint, step(2), `instance="c"`, `__name__="test_gauge"`)},
			check:   true,
		},
		{
			// The first selector is applied before the second fails to parse.
			apiCase: post("delete second selector bad", del, form("match[]", `test_requests_total{instance="c"}`, "match[]", "{")),
			calls:   []string{dflt(`instance="c"`, `__name__="test_requests_total"`)},
			check:   true,
		},
		{
			apiCase: post("delete two selectors", del, form("match[]", `test_histogram`, "match[]", `{"test.utf8.name", job=~"utf.*"}`, "start", sec(step(20)))),
			calls: []string{
				deleteCall(DefaultTenant, step(20), defaultDeleteMaxt, `__name__="test_histogram"`),
				deleteCall(DefaultTenant, step(20), defaultDeleteMaxt, `__name__="test.utf8.name"`, `job=~"utf.*"`),
			},
			check: true,
		},
		{
			// Body values come before the query string's in r.Form.
			apiCase: apiCase{name: "delete query string and body", method: http.MethodPost, path: del + "?" + url.Values{"match[]": {`test_requests_total{instance="a"}`}, "end": {sec(step(3))}}.Encode(), form: form("match[]", `test_requests_total{instance="b"}`)},
			calls: []string{
				deleteCall(DefaultTenant, defaultDeleteMint, step(3), `instance="b"`, `__name__="test_requests_total"`),
				deleteCall(DefaultTenant, defaultDeleteMint, step(3), `instance="a"`, `__name__="test_requests_total"`),
			},
			check: true,
		},
		{
			apiCase: post("delete nothing matches", del, form("match[]", "does_not_exist")),
			calls:   []string{dflt(`__name__="does_not_exist"`)},
			check:   true,
		},
		{
			// No non-empty matcher needed here (unlike /series): this one
			// deletes every series without a job label.
			apiCase: post("delete empty-matching selector", del, form("match[]", `{job=""}`, "end", sec(step(1)))),
			calls:   []string{deleteCall(DefaultTenant, defaultDeleteMint, step(1), `job=""`)},
			check:   true,
		},
		{
			// Unlike the query parser, ParseMetricSelector accepts {}: the
			// storage is asked with no matchers (and the TSDB deletes nothing).
			apiCase: post("delete empty selector", del, form("match[]", `{}`)),
			calls:   []string{dflt()},
			check:   true,
		},
		{
			apiCase: apiCase{name: "delete CORS gzip", method: http.MethodPost, path: del, form: form("match[]", "does_not_exist"), header: http.Header{"Origin": {"http://example.com"}, "Accept-Encoding": {"gzip"}}},
			calls:   []string{dflt(`__name__="does_not_exist"`)},
		},
		{
			apiCase: apiCase{name: "delete tenant header ignored by prometheus", method: http.MethodPost, path: del, form: form("match[]", "does_not_exist"), header: http.Header{TenantHeader: {DefaultTenant}}},
			calls:   []string{dflt(`__name__="does_not_exist"`)},
		},
		{apiCase: apiCase{name: "delete trailing slash", method: http.MethodPost, path: del + "/", form: form("match[]", "x")}},
		{apiCase: apiCase{name: "delete wrong case", method: http.MethodPost, path: "/api/v1/admin/tsdb/Delete_Series", form: form("match[]", "x")}},
		// clean_tombstones.
		{apiCase: post("clean tombstones", clean, nil), calls: []string{"default: clean tombstones"}, check: true},
		{apiCase: put("clean tombstones PUT with params", clean, form("match[]", "{", "start", "x")), calls: []string{"default: clean tombstones"}, check: true},
		{apiCase: apiCase{name: "clean tombstones bad form", method: http.MethodPost, path: clean, raw: "x=%zz"}, calls: []string{"default: clean tombstones"}},
		{apiCase: apiCase{name: "clean tombstones GET", path: clean}},
		// snapshot.
		{apiCase: post("snapshot", snap, nil), calls: []string{"snapshot <name> withHead=true"}},
		{apiCase: put("snapshot PUT skip_head", snap, form("skip_head", "true")), calls: []string{"snapshot <name> withHead=false"}},
		{apiCase: apiCase{name: "snapshot skip_head=1 in query string", method: http.MethodPost, path: snap + "?skip_head=1"}, calls: []string{"snapshot <name> withHead=false"}},
		{apiCase: post("snapshot skip_head=F", snap, form("skip_head", "F")), calls: []string{"snapshot <name> withHead=true"}},
		{apiCase: post("snapshot skip_head empty", snap, form("skip_head", "")), calls: []string{"snapshot <name> withHead=true"}},
		{apiCase: post("snapshot skip_head notabool", snap, form("skip_head", "notabool"))},
		{apiCase: post("snapshot skip_head yes", snap, form("skip_head", "yes"))},
		{apiCase: apiCase{name: "snapshot bad form", method: http.MethodPost, path: snap, raw: "skip_head=%zz&x=1"}, calls: []string{"snapshot <name> withHead=true"}},
		{apiCase: apiCase{name: "snapshot GET", path: snap}},
		{apiCase: apiCase{name: "snapshot trailing slash PUT", method: http.MethodPut, path: snap + "/"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := do(t, ref.URL, c.apiCase)
			got := do(t, ours.URL, c.apiCase)
			if want.code == http.StatusOK && got.code == http.StatusOK {
				c.norm = snapshotNames
			}
			compareAnswers(t, c.apiCase, want, got)
			calls := rec.take()
			if want.code == http.StatusOK && strings.HasPrefix(c.path, snap) {
				checkSnapshot(t, want.body, ref.DataDir)
				name := checkSnapshot(t, got.body, ourData)
				for i, call := range calls {
					calls[i] = strings.Replace(call, name, "<name>", 1)
				}
			}
			if !slices.Equal(calls, c.calls) {
				t.Errorf("admin calls:\n got  %q\n want %q", calls, c.calls)
			}
			if c.check {
				compareState(t)
			}
			if testing.Verbose() {
				t.Logf("%d %s %s", want.code, want.contentType, want.body)
			}
		})
	}
	// The deletions did delete (both servers still agree, see compareState).
	if after := countSamples(t, do(t, ref.URL, state[1]).body); after >= samplesBefore {
		t.Errorf("%d samples before the deletions, %d after", samplesBefore, after)
	} else {
		t.Logf("%d samples before the deletions, %d after", samplesBefore, after)
	}
}

// countSamples counts the floats and histograms of a query_range answer.
func countSamples(t *testing.T, body []byte) int {
	t.Helper()
	var v struct {
		Data struct {
			Result []struct {
				Values     []json.RawMessage `json:"values"`
				Histograms []json.RawMessage `json:"histograms"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	n := 0
	for _, r := range v.Data.Result {
		n += len(r.Values) + len(r.Histograms)
	}
	return n
}

// checkSnapshot checks a snapshot answer's name and that the snapshot is a
// directory under <dataDir>/snapshots; it returns the name.
func checkSnapshot(t *testing.T, body []byte, dataDir string) string {
	t.Helper()
	var v struct {
		Data struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	if !snapshotNameRE.MatchString(v.Data.Name) {
		t.Errorf("snapshot name %q does not look like Prometheus's", v.Data.Name)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "snapshots", v.Data.Name)); err != nil || !fi.IsDir() {
		t.Errorf("snapshot %q: not a directory under %s/snapshots: %v", v.Data.Name, dataDir, err)
	}
	return v.Data.Name
}
