package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/promslog"
)

func TestSelfScrapeTarget(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:9090":   "localhost:9090",
		":9090":          "localhost:9090",
		"[::]:9091":      "localhost:9091",
		"127.0.0.1:9092": "127.0.0.1:9092",
		"example:80":     "example:80",
		"[::1]:9093":     "[::1]:9093",
	} {
		got, err := selfScrapeTarget(in)
		if err != nil || got != want {
			t.Errorf("selfScrapeTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := selfScrapeTarget("no-port"); err == nil {
		t.Error("an address without port was accepted")
	}
}

func FuzzSelfScrapeTarget(f *testing.F) {
	for _, s := range []string{"0.0.0.0:9090", ":1", "[::]:0", "a:b:c", "", "[", "host:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := selfScrapeTarget(s)
		if err != nil {
			return
		}
		if _, _, err := net.SplitHostPort(got); err != nil {
			t.Fatalf("selfScrapeTarget(%q) = %q, not host:port: %v", s, got, err)
		}
	})
}

// TestConfigSource: the embedded default applies only when --config.file was
// left at prometheus.yml and that file is absent; it scrapes ourselves.
func TestConfigSource(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)

	src := configSource{file: defaultConfigFile, selfTarget: "localhost:9090", selfScheme: "http", selfPath: "/prefix/metrics"}
	cfg, embedded, err := src.load(promslog.NewNopLogger())
	if err != nil || !embedded {
		t.Fatalf("default and absent: embedded=%v err=%v", embedded, err)
	}
	scs, err := cfg.GetScrapeConfigs()
	if err != nil || len(scs) != 1 {
		t.Fatalf("scrape configs: %v %v", scs, err)
	}
	sc := scs[0]
	if sc.JobName != "mytsdb" || sc.MetricsPath != "/prefix/metrics" || sc.Scheme != "http" || sc.ScrapeInterval.String() != "15s" {
		t.Fatalf("embedded job: %+v", sc)
	}

	explicit := src
	explicit.explicit = true
	if _, _, err := explicit.load(promslog.NewNopLogger()); err == nil {
		t.Fatal("an explicitly named missing prometheus.yml was not an error")
	}

	if err := os.WriteFile(filepath.Join(dir, defaultConfigFile), []byte("scrape_configs:\n  - job_name: file\n    static_configs: [{targets: ['a:1']}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, embedded, err = src.load(promslog.NewNopLogger())
	if err != nil || embedded || cfg.ScrapeConfigs[0].JobName != "file" {
		t.Fatalf("present file: embedded=%v err=%v", embedded, err)
	}
}
