package compare

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func resp(status int, body string) Response {
	return Response{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

func TestCompare(t *testing.T) {
	const vec = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"NaN"]},{"metric":{"a":"2"},"value":[1,"0.1"]}]}}`
	for _, tc := range []struct {
		name       string
		path       string
		mode       Mode
		ref, cand  Response
		ok         bool
		reasonHint string
	}{
		{"identical with NaN", "/api/v1/query", Mode{}, resp(200, vec), resp(200, vec), true, ""},
		{"last bit", "/api/v1/query", Mode{}, resp(200, vec), resp(200, strings.Replace(vec, `"0.1"`, `"0.10000000000000002"`, 1)), false, "value.1"},
		{"series order", "/api/v1/query", Mode{}, resp(200, vec),
			resp(200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"2"},"value":[1,"0.1"]},{"metric":{"a":"1"},"value":[1,"NaN"]}]}}`), false, "result.0"},
		{"series order, unordered case", "/api/v1/query", Mode{Unordered: true}, resp(200, vec),
			resp(200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"2"},"value":[1,"0.1"]},{"metric":{"a":"1"},"value":[1,"NaN"]}]}}`), true, ""},
		{"key order", "/api/v1/query", Mode{}, resp(200, `{"status":"success","data":{}}`), resp(200, `{"data":{},"status":"success"}`), false, "key"},
		{"whitespace only", "/api/v1/query", Mode{}, resp(200, `{"a":1}`), resp(200, `{ "a": 1 }`), true, ""},
		{"status", "/api/v1/query", Mode{}, resp(400, `{}`), resp(422, `{}`), false, "status"},
		{"content type", "/api/v1/query", Mode{}, resp(200, `{}`), Response{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte(`{}`)}, false, "Content-Type"},
		{"warnings order", "/api/v1/query", Mode{}, resp(200, `{"status":"success","warnings":["b","a"]}`), resp(200, `{"status":"success","warnings":["a","b"]}`), true, ""},
		{"buildinfo version", "/api/v1/status/buildinfo", Mode{}, resp(200, `{"status":"success","data":{"version":"1","goVersion":"x","branch":"b"}}`),
			resp(200, `{"status":"success","data":{"version":"2","goVersion":"y","branch":"c"}}`), true, ""},
		{"version elsewhere is compared", "/api/v1/query", Mode{}, resp(200, `{"data":{"version":"1"}}`), resp(200, `{"data":{"version":"2"}}`), false, "version"},
		{"flag with dots", "/api/v1/status/flags", Mode{}, resp(200, `{"data":{"storage.tsdb.path":"a","x":"1"}}`), resp(200, `{"data":{"storage.tsdb.path":"b","x":"1"}}`), true, ""},
		{"mytsdb's own flags on the candidate", "/api/v1/status/flags", Mode{},
			resp(200, `{"data":{"x":"1"}}`),
			resp(200, `{"data":{"storage.wal.sync":"always","storage.wal.sync-interval":"1s","storage.wal.writer":"auto","x":"1"}}`), true, ""},
		{"mytsdb's own flags are not dropped from the reference", "/api/v1/status/flags", Mode{},
			resp(200, `{"data":{"storage.wal.sync":"always","x":"1"}}`), resp(200, `{"data":{"x":"1"}}`), false, "data"},
		{"any other extra flag on the candidate", "/api/v1/status/flags", Mode{},
			resp(200, `{"data":{"x":"1"}}`), resp(200, `{"data":{"storage.wal.other":"1","x":"1"}}`), false, "data"},
		{"scrape timestamps only when structural", "/api/v1/query", Mode{}, resp(200, `{"data":{"result":[{"value":[1,"1"]}]}}`), resp(200, `{"data":{"result":[{"value":[2,"1"]}]}}`), false, ""},
		{"scrape timestamps structural", "/api/v1/query", Mode{Structural: true}, resp(200, `{"data":{"result":[{"value":[1,"1"]}]}}`), resp(200, `{"data":{"result":[{"value":[2,"1"]}]}}`), true, ""},
		{"tsdb ties", "/api/v1/status/tsdb", Mode{}, resp(200, `{"data":{"seriesCountByMetricName":[{"name":"a","value":2},{"name":"b","value":1},{"name":"c","value":1}]}}`),
			resp(200, `{"data":{"seriesCountByMetricName":[{"name":"a","value":2},{"name":"c","value":1},{"name":"b","value":1}]}}`), true, ""},
		{"tsdb count order still compared", "/api/v1/status/tsdb", Mode{}, resp(200, `{"data":{"seriesCountByMetricName":[{"name":"a","value":2},{"name":"b","value":1}]}}`),
			resp(200, `{"data":{"seriesCountByMetricName":[{"name":"b","value":1},{"name":"a","value":2}]}}`), false, ""},
		{"alerts: activeAt and order forgiven", "/api/v1/alerts", Mode{},
			resp(200, `{"data":{"alerts":[{"labels":{"a":"1"},"state":"firing","activeAt":"2026-01-01T00:00:00Z","value":"1e+00"},{"labels":{"a":"2"},"state":"pending","activeAt":"2026-01-01T00:00:01Z","value":"2e+00"}]}}`),
			resp(200, `{"data":{"alerts":[{"labels":{"a":"2"},"state":"pending","activeAt":"2026-01-01T00:00:03Z","value":"2e+00"},{"labels":{"a":"1"},"state":"firing","activeAt":"2026-01-01T00:00:02Z","value":"1e+00"}]}}`), true, ""},
		{"alerts: state compared", "/api/v1/alerts", Mode{},
			resp(200, `{"data":{"alerts":[{"labels":{"a":"1"},"state":"firing","activeAt":"x","value":"1e+00"}]}}`),
			resp(200, `{"data":{"alerts":[{"labels":{"a":"1"},"state":"pending","activeAt":"x","value":"1e+00"}]}}`), false, "state"},
		{"alerts: value compared", "/api/v1/alerts", Mode{},
			resp(200, `{"data":{"alerts":[{"labels":{"a":"1"},"state":"firing","value":"1e+00"}]}}`),
			resp(200, `{"data":{"alerts":[{"labels":{"a":"1"},"state":"firing","value":"2e+00"}]}}`), false, "value"},
		{"rules: evaluation times forgiven", "/api/v1/rules", Mode{},
			resp(200, `{"data":{"groups":[{"name":"g","lastEvaluation":"a","evaluationTime":0.1,"rules":[{"name":"r","health":"ok","lastEvaluation":"a","evaluationTime":0.01,"alerts":[{"state":"firing","activeAt":"a"}]}]}]}}`),
			resp(200, `{"data":{"groups":[{"name":"g","lastEvaluation":"b","evaluationTime":0.2,"rules":[{"name":"r","health":"ok","lastEvaluation":"b","evaluationTime":0.02,"alerts":[{"state":"firing","activeAt":"b"}]}]}]}}`), true, ""},
		{"rules: health compared", "/api/v1/rules", Mode{},
			resp(200, `{"data":{"groups":[{"name":"g","rules":[{"name":"r","health":"ok"}]}]}}`),
			resp(200, `{"data":{"groups":[{"name":"g","rules":[{"name":"r","health":"err"}]}]}}`), false, "health"},
		{"rules: rule order compared", "/api/v1/rules", Mode{},
			resp(200, `{"data":{"groups":[{"name":"g","rules":[{"name":"a"},{"name":"b"}]}]}}`),
			resp(200, `{"data":{"groups":[{"name":"g","rules":[{"name":"b"},{"name":"a"}]}]}}`), false, "rules.0"},
		{"non-JSON bodies", "/api/v1/write", Mode{}, resp(400, "out of order sample\n"), resp(400, "out of bounds\n"), false, "bodies differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Compare(tc.path, tc.mode, tc.ref, tc.cand)
			if r.OK != tc.ok {
				t.Fatalf("OK = %v, want %v (%s)\n%s", r.OK, tc.ok, r.Reason, r.SideBySide(40))
			}
			if !strings.Contains(r.Reason, tc.reasonHint) {
				t.Fatalf("reason %q does not mention %q", r.Reason, tc.reasonHint)
			}
		})
	}
}

func TestSideBySideMarksDifference(t *testing.T) {
	r := Compare("/api/v1/query", Mode{}, resp(200, `{"a":"1","b":"2"}`), resp(200, `{"a":"1","b":"3"}`))
	s := r.SideBySide(30)
	if !strings.Contains(s, `! `) || !strings.Contains(s, `"b":"2"`) || !strings.Contains(s, `"b":"3"`) {
		t.Fatalf("side by side does not show the difference:\n%s", s)
	}
}

func TestExemptionsHaveReasons(t *testing.T) {
	for _, e := range Exemptions {
		if e.Reason == "" || e.Field == "" {
			t.Errorf("exemption %+v lacks a field or a reason", e)
		}
		switch e.Action {
		case "drop", "null", "sort", "tiesort":
		default:
			t.Errorf("exemption %+v: unknown action", e)
		}
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,"2",null,true,{"b":-1.5e3}]}`, `"x"`, `{"a":}`, `[1,`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parseJSON(b)
		if err != nil {
			return
		}
		// Rendering and re-parsing is stable.
		m, err := parseJSON([]byte(n.String()))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", n.String(), err)
		}
		if m.String() != n.String() {
			t.Fatalf("unstable: %q vs %q", n.String(), m.String())
		}
		_ = n.Indent()
	})
}

func TestBlockIDs(t *testing.T) {
	blocks := func(bs ...string) Response {
		return resp(200, `{"status":"success","data":{"blocks":[`+strings.Join(bs, ",")+`]}}`)
	}
	l1 := func(id string, mint int) string {
		return fmt.Sprintf(`{"ulid":%q,"minTime":%d,"maxTime":%d,"stats":{"numSamples":7},"compaction":{"level":1,"sources":[%[1]q]},"version":1}`, id, mint, mint+300000)
	}
	l2 := func(id string, mint int, a, b string) string {
		return fmt.Sprintf(`{"ulid":%q,"minTime":%d,"maxTime":%d,"stats":{"numSamples":9},"compaction":{"level":2,"sources":[%q,%q],"parents":[{"ulid":%[4]q,"minTime":%[2]d,"maxTime":1},{"ulid":%[5]q,"minTime":1,"maxTime":%[3]d}]},"version":1}`, id, mint, mint+900000, a, b)
	}
	m := Mode{Blocks: true}
	for _, c := range []struct {
		name      string
		ref, cand Response
		mode      Mode
		ok        bool
	}{
		{"other ids", blocks(l2("X", 0, "A", "B"), l1("Y", 900000)), blocks(l2("P", 0, "C", "D"), l1("Q", 900000)), m, true},
		{"outside the short-block mode: exact", blocks(l1("Y", 0)), blocks(l1("Q", 0)), Mode{}, false},
		{"other time range", blocks(l1("Y", 0)), blocks(l1("Y", 60000)), m, false},
		{"a block missing", blocks(l2("X", 0, "A", "B"), l1("Y", 900000)), blocks(l2("X", 0, "A", "B")), m, false},
		{"not compacted", blocks(l2("X", 0, "A", "B")), blocks(l1("A", 0), l1("B", 300000)), m, false},
		{"other stats", blocks(l1("Y", 0)), blocks(strings.Replace(l1("Y", 0), `"numSamples":7`, `"numSamples":8`, 1)), m, false},
	} {
		r := Compare("/api/v1/status/tsdb/blocks", c.mode, c.ref, c.cand)
		if r.OK != c.ok {
			t.Errorf("%s: OK = %v, want %v (%s)\n%s", c.name, r.OK, c.ok, r.Reason, r.SideBySide(60))
		}
	}
}
