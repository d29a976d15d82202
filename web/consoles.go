package web

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/template"
	"github.com/prometheus/prometheus/util/httputil"
)

// Consoles are Prometheus's console templates: HTML files under
// --web.console.templates expanded with the template package (queries
// included) and the *.lib files of --web.console.libraries, served at
// /consoles/<file>. The handler owns no query logic: cmd/mytsdb hands it a
// QueryFunc once the storage is open.
type Consoles struct {
	Query          template.QueryFunc
	ExternalLabels func() labels.Labels
}

// SetConsoles installs what /consoles/* needs to evaluate templates.
func (h *Handler) SetConsoles(c Consoles) { h.consoles.Store(&c) }

// serveConsole expands one console template as Prometheus's web.consoles
// does: the same convenience variables, data and error answers (404 with the
// open error, 400 for a bad query string, 500 for a template error).
func (h *Handler) serveConsole(w http.ResponseWriter, r *http.Request) {
	c := h.consoles.Load()
	if c == nil {
		http.Error(w, "consoles are not available yet", http.StatusServiceUnavailable)
		return
	}
	name := "/" + strings.TrimPrefix(r.URL.Path, "/consoles/")
	f, err := http.Dir(h.o.ConsoleTemplatesPath).Open(name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	text, err := io.ReadAll(f)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rawParams, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	params := map[string]string{}
	for k, v := range rawParams {
		params[k] = v[0]
	}
	var external map[string]string
	if c.ExternalLabels != nil {
		external = c.ExternalLabels().Map()
	}
	// The variables Prometheus predefines for template authors.
	defs := "{{$rawParams := .RawParams }}{{$params := .Params}}{{$path := .Path}}{{$externalLabels := .ExternalLabels}}"
	data := struct {
		RawParams      url.Values
		Params         map[string]string
		Path           string
		ExternalLabels map[string]string
	}{rawParams, params, strings.TrimLeft(name, "/"), external}
	exp := template.NewTemplateExpander(httputil.ContextFromRequest(r.Context(), r), defs+string(text),
		"__console_"+name, data, model.TimeFromUnixNano(time.Now().UnixNano()), c.Query, h.o.ExternalURL, nil)
	libs, err := filepath.Glob(h.o.ConsoleLibrariesPath + "/*.lib")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out, err := exp.ExpandHTML(libs)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	io.WriteString(w, out)
}
