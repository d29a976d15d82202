package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartStopPrometheus(t *testing.T) {
	bin, err := PrometheusBinary()
	if err != nil {
		t.Fatal(err) // says "run make ref"
	}
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Options{Name: "test", Binary: bin, ConfigFile: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("URL %s not on 127.0.0.1", s.URL)
	}
	resp, err := http.Get(s.URL + "/api/v1/status/flags")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("flags: HTTP %d", resp.StatusCode)
	}
	if err := s.Reload(); err != nil {
		t.Errorf("reload (lifecycle API enabled?): %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("stop: %v\n%s", err, s.Logs())
	}
	if _, err := os.Stat(s.DataDir); !os.IsNotExist(err) {
		t.Errorf("data dir %s still there after Stop (%v)", s.DataDir, err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

func TestStartFailsOnBadConfig(t *testing.T) {
	bin, err := PrometheusBinary()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global: [this is not a config\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Start(context.Background(), Options{Name: "bad", Binary: bin, ConfigFile: cfg}); err == nil {
		s.Stop()
		t.Fatal("Start succeeded with a broken config")
	}
	if _, err := Start(context.Background(), Options{Name: "nobin", Binary: "/nonexistent/prometheus", ConfigFile: cfg}); err == nil {
		t.Fatal("Start succeeded without a binary")
	}
}

func TestScanMetric(t *testing.T) {
	text := "# HELP a_parts_x other\na_parts_x 7\na_parts 3\n"
	if v, err := ScanMetric(strings.NewReader(text), "a_parts"); err != nil || v != 3 {
		t.Fatalf("got %v, %v; want 3", v, err)
	}
	if _, err := ScanMetric(strings.NewReader("up 1\n"), "a_parts"); err == nil {
		t.Fatal("a missing metric read as a value")
	}
}
