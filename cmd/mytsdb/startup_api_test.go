package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	grafanaregexp "github.com/grafana/regexp"
	"testing"

	"github.com/prometheus/prometheus/util/notifications"

	"mytsdb/storage/wal"
	"mytsdb/web"
)

// TestStartupAPIReportsReplay serves the startup API while a real WAL
// replays into the progress it reads: every answer of
// /api/v1/status/walreplay during the replay is Prometheus's success
// envelope with the replay's position at that record, the starting-up
// notice is served, mytsdb's /api/v1/status/progress reports the same
// position, and query paths stay unavailable until ready.
func TestStartupAPIReportsReplay(t *testing.T) {
	dir := t.TempDir()
	w, err := wal.Open(wal.Options{Dir: dir, SegmentSize: wal.MinSegmentSize})
	if err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, 1500)
	for range 30 {
		if err := w.Log(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	notices := notifications.NewNotifications(10, nil)
	notices.AddNotification(notifications.StartingUp)
	s := &server{logger: slog.New(slog.NewTextHandler(io.Discard, nil)), notices: notices, cors: grafanaregexp.MustCompile("^(?:.*)$")}
	wh, err := web.New(web.Options{ListenAddresses: []string{"127.0.0.1:0"}, RoutePrefix: "/"})
	if err != nil {
		t.Fatal(err)
	}
	progress := &wal.ReplayProgress{}
	mountStartupAPI(s, wh, progress)
	get := func(path string) (int, string) {
		rr := httptest.NewRecorder()
		wh.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, path, nil))
		return rr.Code, rr.Body.String()
	}

	w, err = wal.Open(wal.Options{Dir: dir, SegmentSize: wal.MinSegmentSize, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	type status struct {
		Status string `json:"status"`
		Data   struct {
			Min, Max, Current int
		} `json:"data"`
	}
	var answers []status
	if _, err := w.Replay(func([]byte) error {
		code, body := get("/api/v1/status/walreplay")
		var st status
		if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
			t.Fatalf("walreplay during replay: %d %s (%v)", code, body, err)
		}
		mn, mx, cur := progress.Get()
		if st.Status != "success" || st.Data.Min != mn || st.Data.Max != mx || st.Data.Current != cur {
			t.Fatalf("walreplay answered %s, progress is %d %d %d", body, mn, mx, cur)
		}
		answers = append(answers, st)
		// mytsdb's /status/progress carries the same replay position.
		code, body = get("/api/v1/status/progress")
		var pr struct {
			Status string `json:"status"`
			Data   struct {
				WALReplay struct{ Min, Max, Current int } `json:"walReplay"`
				Tasks     []json.RawMessage               `json:"tasks"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(body), &pr); code != http.StatusOK || err != nil || pr.Status != "success" ||
			pr.Data.WALReplay != st.Data || pr.Data.Tasks == nil || len(pr.Data.Tasks) != 0 {
			t.Fatalf("progress during replay: %d %s, walreplay %+v", code, body, st.Data)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	first, last := answers[0], answers[len(answers)-1]
	if first.Data.Max <= first.Data.Min || last.Data.Current <= first.Data.Current {
		t.Fatalf("replay of several segments reported no progress: first %+v, last %+v", first, last)
	}

	if code, body := get("/api/v1/notifications"); code != http.StatusOK || !strings.Contains(body, `"text":"`+notifications.StartingUp+`"`) {
		t.Errorf("notifications during startup: %d %s", code, body)
	}
	if code, body := get("/api/v1/query?query=1"); code != http.StatusServiceUnavailable || body != "Service Unavailable" {
		t.Errorf("query during startup: %d %q", code, body)
	}
}
