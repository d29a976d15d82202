package web

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The redirects follow Prometheus 3's web/web.go: / and /graph go to the
// external URL's path, /graph keeping its query string (shared links and
// Grafana's "explore" links use /graph?g0.expr=...).
func TestPageRedirectsAndPrefix(t *testing.T) {
	ext, _ := url.Parse("http://proxy.example:80/outer")
	for _, tc := range []struct {
		name     string
		o        Options
		path     string
		code     int
		location string
	}{
		{"root", Options{}, "/", 302, "/query"},
		{"graph keeps query", Options{}, "/graph?g0.expr=up&g0.tab=1", 302, "/query?g0.expr=up&g0.tab=1"},
		{"graph without query", Options{}, "/graph", 302, "/query?"},
		{"prefix root", Options{RoutePrefix: "/p"}, "/", 302, "/p"},
		{"prefix home", Options{RoutePrefix: "/p"}, "/p", 302, "/p/query"},
		{"prefix, external URL without path", Options{RoutePrefix: "/p", ExternalURL: mustURL("http://h")}, "/p", 302, "/query"},
		{"prefix home with external", Options{RoutePrefix: "/p", ExternalURL: mustURL("http://h/p")}, "/p/", 302, "/p/query"},
		{"external path only", Options{ExternalURL: ext}, "/graph?g0.expr=x", 302, "/outer/query?g0.expr=x"},
		{"page outside prefix", Options{RoutePrefix: "/p"}, "/query", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newTestHandler(t, tc.o)
			a := call(h, "GET", tc.path)
			if a.code != tc.code || a.hdr.Get("Location") != tc.location {
				t.Fatalf("GET %s: %d %q, want %d %q", tc.path, a.code, a.hdr.Get("Location"), tc.code, tc.location)
			}
		})
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestPagesServeIndexWithTitleAndBase(t *testing.T) {
	h, _ := newTestHandler(t, Options{RoutePrefix: "/p", ExternalURL: mustURL("http://h/p"), PageTitle: `My <Prom>`})
	for _, p := range append(slices.Clone(pagePaths), serverPagePaths...) {
		a := call(h, "GET", "/p"+p)
		if a.code != 200 || a.hdr.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET /p%s: %d %s", p, a.code, a.hdr.Get("Content-Type"))
		}
		if !strings.Contains(a.body, "<title>My &lt;Prom&gt;</title>") || strings.Contains(a.body, "PLACEHOLDER") {
			t.Fatalf("GET /p%s: title not filled in:\n%s", p, a.body)
		}
	}
	h, _ = newTestHandler(t, Options{})
	if a := call(h, "GET", "/query"); !strings.Contains(a.body, "<title>"+DefaultPageTitle+"</title>") {
		t.Fatalf("default title missing:\n%s", a.body)
	}
	if a := call(h, "GET", "/nosuchpage"); a.code != 404 {
		t.Fatalf("unknown page: %d", a.code)
	}
}

// In agent mode "/" leads to /agent, which is served, and the server-only
// pages are not; a server does not serve /agent (Prometheus's
// reactRouterAgentPaths and newUIReactRouterServerPaths).
func TestAgentPages(t *testing.T) {
	agent, _ := newTestHandler(t, Options{Agent: true, ExternalURL: mustURL("http://h/")})
	server, _ := newTestHandler(t, Options{ExternalURL: mustURL("http://h/")})
	if a := call(agent, "GET", "/"); a.code != 302 || a.hdr.Get("Location") != "/agent" {
		t.Fatalf("agent GET /: %d %q", a.code, a.hdr.Get("Location"))
	}
	for _, tc := range []struct {
		h    *Handler
		path string
		code int
	}{
		{agent, "/agent", 200}, {agent, "/targets", 200}, {agent, "/query", 404}, {agent, "/rules", 404},
		{agent, "/alerts", 404}, {agent, "/tsdb-status", 404},
		{server, "/agent", 404}, {server, "/query", 200},
	} {
		if a := call(tc.h, "GET", tc.path); a.code != tc.code {
			t.Errorf("GET %s (agent %v): %d, want %d", tc.path, tc.h.o.Agent, a.code, tc.code)
		}
	}
}

// While the storage opens the page is told so, and shows the WAL replay
// progress instead of a view (Prometheus's READY_PLACEHOLDER).
func TestIndexReadyAndBase(t *testing.T) {
	h, _ := newTestHandler(t, Options{RoutePrefix: "/p", ExternalURL: mustURL("http://h/outer/")})
	tmpl := []byte("READY_PLACEHOLDER BASE_PLACEHOLDER")
	if got := string(h.renderIndex(tmpl)); got != "false /outer/" {
		t.Fatalf("starting: %q", got)
	}
	h.SetReady(Ready)
	if got := string(h.renderIndex(tmpl)); got != "true /outer/" {
		t.Fatalf("ready: %q", got)
	}
	h, _ = newTestHandler(t, Options{})
	if got := string(h.renderIndex(tmpl)); got != "false /" {
		t.Fatalf("no prefix: %q", got)
	}
}
