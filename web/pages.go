package web

import (
	"bytes"
	"html"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"mytsdb/web/ui"
)

// DefaultPageTitle is --web.page-title's default in Prometheus.
const DefaultPageTitle = "Prometheus Time Series Collection and Processing Server"

// pagePaths are the routes Prometheus 3's UI answers with its single page in
// either mode; the page's script picks the view from the path.
var pagePaths = []string{
	"/targets", "/service-discovery",
	"/config", "/flags", "/status", "/alertmanager-discovery",
}

// serverPagePaths are the pages only a server has, agentPagePaths those only
// an agent has (Prometheus's newUIReactRouterServerPaths and
// reactRouterAgentPaths): the other mode answers them 404. mytsdb's own
// pages (the tenants and the storage tiers, which Prometheus lacks) are a
// server's.
var (
	serverPagePaths = []string{"/alerts", "/query", "/rules", "/tsdb-status", "/tenants", "/tiers"}
	agentPagePaths  = []string{"/agent"}
)

// pageRoutes adds the UI: the redirects of / and /graph, the page routes, the
// favicon and the bundled assets. Redirects use the external URL's path, as
// Prometheus does, so that they work behind a proxy that strips a prefix.
func (h *Handler) pageRoutes(mux *http.ServeMux) {
	files := ui.Files()
	index := []byte(nil)
	if b, err := fs.ReadFile(files, "index.html"); err == nil {
		index = b
	} else if b, err := fs.ReadFile(files, "placeholder.html"); err == nil {
		index = b
	}
	ext := h.externalPath()
	handle := func(pattern, name string, hf http.HandlerFunc) {
		mux.Handle(pattern, h.metrics.instrument(name, hf))
	}
	home, modePaths := "/query", serverPagePaths
	if h.o.Agent {
		home, modePaths = "/agent", agentPagePaths
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, path.Join(ext, home), http.StatusFound)
	})
	handle("GET /graph", "/graph", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, path.Join(ext, "/query?"+r.URL.RawQuery), http.StatusFound)
	})
	for _, p := range append(slices.Clone(pagePaths), modePaths...) {
		handle("GET "+p, p, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(h.renderIndex(index))
		})
	}
	static := http.FileServerFS(files)
	handle("GET /assets/", "/assets/*filepath", static.ServeHTTP)
	handle("GET /favicon.svg", "/favicon.svg", static.ServeHTTP)
}

// renderIndex fills the page's placeholders: the title, the base every
// relative link and API call of the page resolves against, and whether the
// server was ready when the page was served (the page then shows the WAL
// replay progress instead of a view).
func (h *Handler) renderIndex(index []byte) []byte {
	out := bytes.ReplaceAll(index, []byte("TITLE_PLACEHOLDER"), []byte(html.EscapeString(h.o.PageTitle)))
	out = bytes.ReplaceAll(out, []byte("BASE_PLACEHOLDER"), []byte(html.EscapeString(strings.TrimSuffix(h.externalPath(), "/")+"/")))
	return bytes.ReplaceAll(out, []byte("READY_PLACEHOLDER"), []byte(strconv.FormatBool(ReadyStatus(h.ready.Load()) == Ready)))
}

// externalPath is the path under which browsers reach us: the external URL's
// path (even an empty one, as in Prometheus), else the route prefix.
func (h *Handler) externalPath() string {
	if h.o.ExternalURL != nil {
		return "/" + strings.Trim(h.o.ExternalURL.Path, "/")
	}
	return h.o.RoutePrefix
}
