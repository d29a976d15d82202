package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConsolesAndUserAssets serves the same console templates, console
// libraries and user assets from mytsdb and the real Prometheus and compares
// every answer: expanded templates (queries, the predefined variables and a
// library template included), template errors, missing files and the /user/
// file server.
func TestConsolesAndUserAssets(t *testing.T) {
	dir := t.TempDir()
	consoles := filepath.Join(dir, "consoles")
	libs := filepath.Join(dir, "libs")
	assets := filepath.Join(dir, "assets")
	for _, d := range []string{consoles, libs, assets, filepath.Join(assets, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(libs, "page.lib"), `{{define "head"}}<h1>{{.}}</h1>{{end}}`)
	writeFile(t, filepath.Join(libs, "ignored.txt"), `{{define "head"}}not a library{{end}}`)
	writeFile(t, filepath.Join(consoles, "index.html"),
		`{{template "head" "Index"}}
path={{$path}} x={{$params.x}} all={{index $rawParams "x"}} dc={{$externalLabels.dc}}
two={{with query "1+1"}}{{(index . 0).Value}}{{end}}
vec={{range query "vector(3) * on() group_left label_replace(vector(1), \"a\", \"b\", \"\", \"\")"}}{{.Labels}}={{.Value}};{{end}}
{{ "<script>" }} {{ humanize 1234567.0 }} {{ pathPrefix }}`)
	if err := os.MkdirAll(filepath.Join(consoles, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(consoles, "sub", "nested.html"), `nested {{$path}}`)
	writeFile(t, filepath.Join(consoles, "badquery.html"), `{{with query "sum("}}{{.}}{{end}}`)
	writeFile(t, filepath.Join(consoles, "badsyntax.html"), `{{if}}`)
	writeFile(t, filepath.Join(assets, "a.txt"), "user asset\n")
	writeFile(t, filepath.Join(assets, "sub", "b.css"), "body{}\n")
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, "global:\n  external_labels:\n    dc: eu1\n")

	var procs []*proc
	for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		addr := freeAddr(t)
		p := start(t, bin, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
			"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"),
			"--web.console.templates="+consoles, "--web.console.libraries="+libs,
			"--web.user-assets="+assets)
		procs = append(procs, p)
	}
	for _, p := range procs {
		p.waitReady(30 * time.Second)
	}
	type answer struct {
		code        int
		contentType string
		body        string
	}
	get := func(p *proc, path string) answer {
		t.Helper()
		c := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(p.url(path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
	}
	for _, path := range []string{
		"/consoles/index.html?x=1&x=2",
		"/consoles/sub/nested.html",
		"/consoles/badquery.html",
		"/consoles/badsyntax.html",
		"/consoles/missing.html",
		"/consoles/../prometheus.yml",
		"/consoles/%2e%2e/prometheus.yml",
		"/consoles/index.html?x=%zz",
		"/user/a.txt",
		"/user/sub/b.css",
		"/user/missing",
		"/user/%2e%2e/prometheus.yml",
	} {
		mine, ref := get(procs[0], path), get(procs[1], path)
		if mine != ref {
			t.Errorf("GET %s:\nmytsdb     %d %q %q\nprometheus %d %q %q", path,
				mine.code, mine.contentType, mine.body, ref.code, ref.contentType, ref.body)
		}
	}
	// The comparison above would pass if both failed alike; the index page
	// must really have been expanded.
	if a := get(procs[0], "/consoles/index.html?x=1"); a.code != http.StatusOK ||
		!containsAll(a.body, "<h1>Index</h1>", "path=index.html x=1", "dc=eu1", "two=2") {
		t.Errorf("console index not expanded: %d %q", a.code, a.body)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
