package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStartTimestampFeaturesAsPrometheus: with the start-timestamp options
// mytsdb honours (st-synthesis, use-start-timestamps), and with
// metadata-wal-records, /api/v1/features is the document the real
// Prometheus serves with the same options.
func TestStartTimestampFeaturesAsPrometheus(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, "global:\n  scrape_interval: 1h\n")
	for _, opts := range []string{"st-synthesis,use-start-timestamps", "metadata-wal-records"} {
		var got []map[string]map[string]bool
		for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
			addr := freeAddr(t)
			p := start(t, bin, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
				"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"), "--enable-feature="+opts)
			p.waitReady(30 * time.Second)
			r := featuresOf(t, p)
			if opts == "metadata-wal-records" && !r["tsdb"]["metadata_wal_records"] {
				t.Errorf("%s: tsdb.metadata_wal_records is not true: %v", filepath.Base(bin), r["tsdb"])
			} else if opts != "metadata-wal-records" && !r["scrape"]["st-synthesis"] {
				t.Errorf("%s: scrape.st-synthesis is not true: %v", filepath.Base(bin), r["scrape"])
			}
			got = append(got, r)
		}
		for section, want := range got[1] {
			if !reflect.DeepEqual(got[0][section], want) {
				t.Errorf("%s: features section %s:\nmytsdb     %v\nprometheus %v", opts, section, got[0][section], want)
			}
		}
		for section := range got[0] {
			if _, ok := got[1][section]; !ok {
				t.Errorf("%s: mytsdb has a features section %s Prometheus lacks", opts, section)
			}
		}
	}
}

// TestSTZeroIngestionAsPrometheus: with created-timestamp-zero-ingestion a
// scraped counter's _created line becomes a 0 sample at that time, once, as
// in the real Prometheus scraping the same target; without the feature the
// _created line is a series of its own in both.
func TestSTZeroIngestionAsPrometheus(t *testing.T) {
	st := time.Now().Add(-time.Minute).Truncate(time.Second)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
		fmt.Fprintf(w, "# TYPE fix_requests counter\nfix_requests_total 5\nfix_requests_created %d\n# EOF\n", st.Unix())
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: fix\n    static_configs:\n      - targets: ['"+strings.TrimPrefix(srv.URL, "http://")+"']\n")
	for _, feature := range []bool{true, false} {
		var got []string
		for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
			addr := freeAddr(t)
			args := []string{"--config.file=" + cfg, "--web.listen-address=" + addr, "--storage.tsdb.path=" + filepath.Join(t.TempDir(), "data")}
			if feature {
				args = append(args, "--enable-feature=created-timestamp-zero-ingestion")
			}
			p := start(t, bin, dir, addr, args...)
			p.waitReady(30 * time.Second)
			p.waitQueryValue(`count_over_time(fix_requests_total[5m]) >= bool 3`, "1", 30*time.Second)
			now := time.Now()
			// The samples before the first scrape: the zero at st, or none.
			early := rawResult(t, p, `fix_requests_total[5m] @ `+strconv.FormatInt(st.Unix()+1, 10), now)
			d, err := p.query(`count(fix_requests_created)`, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			var created []string
			for _, r := range d.Result {
				created = append(created, fmt.Sprint(r.Value[1]))
			}
			p.kill()
			got = append(got, fmt.Sprintf("%s created series: %v", early, created))
		}
		if got[0] != got[1] {
			t.Errorf("feature %v:\nmytsdb     %s\nprometheus %s", feature, got[0], got[1])
		}
		if want := fmt.Sprintf(`[%d,"0"]`, st.Unix()); feature != strings.Contains(got[1], want) {
			t.Errorf("feature %v: the reference's early samples %s (zero sample %s expected: %v)", feature, got[1], want, feature)
		}
	}
}

// featuresOf is p's /api/v1/features, by section.
func featuresOf(t *testing.T, p *proc) map[string]map[string]bool {
	t.Helper()
	resp, err := http.Get(p.url("/api/v1/features"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data map[string]map[string]bool `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r.Data
}
