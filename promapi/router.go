package promapi

import (
	"context"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/util/httputil"
)

// router reproduces what Prometheus's router (julienschmidt/httprouter via
// prometheus/common/route, mounted with http.StripPrefix("/api/v1")) does
// with every request, since clients see it:
//   - OPTIONS on any path: CORS headers and 204;
//   - a known path with another method: 405 "Method Not Allowed" with an
//     Allow header listing the methods (OPTIONS included) in sorted order;
//   - a path that differs by a trailing slash or by case from a route of the
//     request's method: 301 (GET) or 307 (others) to the fixed path, which,
//     the prefix having been stripped, lacks "/api/v1" (Prometheus's quirk,
//     kept);
//   - anything else: Go's "404 page not found".
type router struct {
	routes   map[string]map[string]http.Handler // pattern → method → handler
	patterns []string                           // registration order
}

// apiPrefix is where Prometheus mounts the API.
const apiPrefix = "/api/v1"

// paramRoute is the one route with a parameter.
const paramRoute = "/label/:name/values"

func (a *API) handle(method, pattern string, h http.Handler) {
	if a.routes.routes == nil {
		a.routes.routes = map[string]map[string]http.Handler{}
	}
	if a.routes.routes[pattern] == nil {
		a.routes.routes[pattern] = map[string]http.Handler{}
		a.routes.patterns = append(a.routes.patterns, pattern)
	}
	a.routes.routes[pattern][method] = h
}

// match matches a path against a pattern exactly (fold: case-insensitively),
// returning the path with the pattern's spelling and the :name parameter.
func match(pattern, p string, fold bool) (fixed, param string, ok bool) {
	if pattern != paramRoute {
		if p == pattern || fold && strings.EqualFold(p, pattern) {
			return pattern, "", true
		}
		return "", "", false
	}
	prefix, suffix := "/label/", "/values"
	if len(p) < len(prefix)+len(suffix)+1 {
		return "", "", false
	}
	pre, suf := p[:len(prefix)], p[len(p)-len(suffix):]
	param = p[len(prefix) : len(p)-len(suffix)]
	if strings.Contains(param, "/") {
		return "", "", false
	}
	if pre == prefix && suf == suffix || fold && strings.EqualFold(pre, prefix) && strings.EqualFold(suf, suffix) {
		return prefix + param + suffix, param, true
	}
	return "", "", false
}

// find returns the handlers of the route p matches exactly.
func (rt *router) find(p string) (map[string]http.Handler, string) {
	if h, ok := rt.routes[p]; ok {
		return h, ""
	}
	if _, param, ok := match(paramRoute, p, false); ok {
		return rt.routes[paramRoute], param
	}
	return nil, ""
}

// hasMethod reports whether any route takes method (httprouter redirects
// only within the request method's tree).
func (rt *router) hasMethod(method string) bool {
	for _, hs := range rt.routes {
		if _, ok := hs[method]; ok {
			return true
		}
	}
	return false
}

// redirect finds the fixed path of p for method: a trailing slash removed,
// else the cleaned path matched case-insensitively (with or without a
// trailing slash).
func (rt *router) redirect(method, p string) (string, bool) {
	takes := func(pattern string) bool { _, ok := rt.routes[pattern][method]; return ok }
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		trimmed := p[:len(p)-1]
		for _, pat := range rt.patterns {
			if _, _, ok := match(pat, trimmed, false); ok && takes(pat) {
				return trimmed, true
			}
		}
	}
	clean := cleanPath(p)
	candidates := []string{clean}
	if len(clean) > 1 && strings.HasSuffix(clean, "/") {
		candidates = append(candidates, clean[:len(clean)-1])
	}
	for _, c := range candidates {
		for _, pat := range rt.patterns {
			if fixed, _, ok := match(pat, c, true); ok && takes(pat) {
				return fixed, true
			}
		}
	}
	return "", false
}

// cleanPath is path.Clean keeping a trailing slash, as httprouter's CleanPath.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

func (a *API) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok || p == "" || p[0] != '/' {
		http.NotFound(w, r)
		return
	}
	if h, param := a.routes.find(p); h != nil {
		if handler, ok := h[r.Method]; ok {
			if param != "" {
				r = r.WithContext(context.WithValue(r.Context(), labelNameKey{}, param))
			}
			handler.ServeHTTP(w, r)
			return
		}
	}
	if r.Method == http.MethodOptions { // Prometheus routes OPTIONS /*path
		a.ready(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httputil.SetCORS(w, a.cors, r)
			w.WriteHeader(http.StatusNoContent)
		})).ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodConnect && p != "/" && a.routes.hasMethod(r.Method) {
		if fixed, ok := a.routes.redirect(r.Method, p); ok {
			code := http.StatusMovedPermanently
			if r.Method != http.MethodGet {
				code = http.StatusTemporaryRedirect
			}
			u := *r.URL
			u.Path, u.RawPath = fixed, ""
			http.Redirect(w, r, u.String(), code)
			return
		}
	}
	if h, _ := a.routes.find(p); h != nil {
		allowed := []string{http.MethodOptions}
		for m := range h {
			allowed = append(allowed, m)
		}
		slices.Sort(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	http.NotFound(w, r)
}

// Handler serves the API at its full paths ("/api/v1/query", ...). Mount it
// at "/api/v1/" without stripping the prefix.
func (a *API) Handler() http.Handler {
	return http.HandlerFunc(a.serveHTTP)
}
