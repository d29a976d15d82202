package ui_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"mytsdb/compliance/server"
)

// The UI's redirects compared with the real Prometheus's, behind an external
// URL whose path a proxy strips (route prefix "/"): both must send browsers to
// the external path.
func TestRedirectsMatchPrometheus(t *testing.T) {
	ref, err := server.PrometheusBinary()
	if err != nil {
		t.Fatalf("reference prometheus (run make ref): %v", err)
	}
	dir := t.TempDir()
	bin, err := server.MytsdbBinary(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--web.external-url=http://proxy.example/outer/", "--web.route-prefix=/"}
	var urls []string
	for _, o := range []server.Options{
		{Name: "reference", Binary: ref, ConfigFile: cfg, ExtraFlags: flags},
		{Name: "candidate", Binary: bin, ConfigFile: cfg, ExtraFlags: flags},
	} {
		s, err := server.Start(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Stop()
		urls = append(urls, s.URL)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/", "/graph", "/graph?g0.expr=rate(up%5B5m%5D)&g0.tab=1&g0.range_input=1h", "/nosuchpage", "/query/x"} {
		var got [2]struct {
			code int
			loc  string
		}
		for i, u := range urls {
			resp, err := client.Get(u + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got[i].code, got[i].loc = resp.StatusCode, resp.Header.Get("Location")
		}
		t.Logf("GET %s: %d %q", p, got[1].code, got[1].loc)
		if got[0] != got[1] {
			t.Errorf("GET %s: Prometheus %d %q, mytsdb %d %q", p, got[0].code, got[0].loc, got[1].code, got[1].loc)
		}
	}
}
