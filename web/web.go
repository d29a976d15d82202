package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
)

// Options configures the HTTP server. The zero value of each field is
// Prometheus's default where one exists.
type Options struct {
	Logger          *slog.Logger
	ListenAddresses []string              // --web.listen-address (repeatable)
	WebConfigFile   string                // --web.config.file (exporter-toolkit TLS/auth)
	ReadTimeout     time.Duration         // --web.read-timeout
	MaxConnections  int                   // --web.max-connections; 0 = unlimited
	ExternalURL     *url.URL              // --web.external-url (computed like Prometheus when empty)
	RoutePrefix     string                // --web.route-prefix, normalised to "/" or "/path"
	EnableLifecycle bool                  // --web.enable-lifecycle
	AppName         string                // "Prometheus Server" when empty; used in /-/healthy and /-/ready bodies
	Agent           bool                  // --agent: "/" leads to /agent and the server-only pages are not served
	PageTitle       string                // --web.page-title; DefaultPageTitle when empty
	Gatherer        prometheus.Gatherer   // served at /metrics; nil = /metrics answers 404
	Registerer      prometheus.Registerer // receives the prometheus_http_* and prometheus_ready metrics
	// UserAssetsPath is --web.user-assets, served at /user/ when set.
	UserAssetsPath string
	// ConsoleTemplatesPath and ConsoleLibrariesPath are --web.console.templates
	// and --web.console.libraries (/consoles/*, see Consoles).
	ConsoleTemplatesPath string
	ConsoleLibrariesPath string
	// ShutdownTimeout bounds how long Run waits for in-flight requests (remote
	// writes waiting for their fsync, queries) after its context ends. 0 = 5s.
	ShutdownTimeout time.Duration
}

// Handler is the HTTP server. Build it with New, hand it the API handlers
// with SetAPI/SetRemoteWrite once the storage is open, then SetReady(Ready).
type Handler struct {
	o       Options
	logger  *slog.Logger
	metrics *metrics
	mux     http.Handler

	api         atomic.Pointer[http.Handler] // /api/v1/* (promapi)
	remoteWrite atomic.Pointer[http.Handler] // POST /api/v1/write; nil = receiver disabled
	consoles    atomic.Pointer[Consoles]     // /consoles/*; nil until the storage is open
	federate    atomic.Pointer[http.Handler] // GET /federate; nil until the storage is open

	ready        atomic.Uint32
	stopping     chan struct{} // closed on SetReady(Stopping)
	stoppingOnce sync.Once
	quitCh       chan struct{}
	quitOnce     sync.Once
	reloadCh     chan chan error
}

// New builds the handler and its routes; it does not listen yet.
func New(o Options) (*Handler, error) {
	if o.Logger == nil {
		o.Logger = promslog.NewNopLogger()
	}
	if o.AppName == "" {
		o.AppName = "Prometheus Server"
	}
	if o.PageTitle == "" {
		o.PageTitle = DefaultPageTitle
	}
	if o.RoutePrefix == "" {
		o.RoutePrefix = "/"
	}
	if o.RoutePrefix != "/" {
		o.RoutePrefix = "/" + strings.Trim(o.RoutePrefix, "/")
	}
	if len(o.ListenAddresses) == 0 {
		return nil, errors.New("web: no listen address")
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	h := &Handler{
		o:        o,
		logger:   o.Logger,
		metrics:  newMetrics(o.Registerer),
		stopping: make(chan struct{}),
		quitCh:   make(chan struct{}),
		reloadCh: make(chan chan error),
	}
	h.SetReady(NotReady)
	h.mux = h.routes()
	return h, nil
}

// SetAPI installs the /api/v1/* handler (promapi). It receives full paths
// ("/api/v1/query"), with the route prefix already stripped.
func (h *Handler) SetAPI(api http.Handler) { h.api.Store(&api) }

// SetRemoteWrite installs the remote-write receiver served at POST
// /api/v1/write. Without one, that endpoint answers as Prometheus does when
// --web.enable-remote-write-receiver is off.
func (h *Handler) SetRemoteWrite(rw http.Handler) { h.remoteWrite.Store(&rw) }

// SetFederate installs the handler of GET /federate (promapi's Federate).
func (h *Handler) SetFederate(f http.Handler) { h.federate.Store(&f) }

// ServeHTTP serves every route; handy for tests without listeners.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, name string, hf http.Handler) {
		mux.Handle(pattern, h.metrics.instrument(name, hf))
	}
	handle("GET /-/healthy", "/-/healthy", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, "%s is Healthy.\n", h.o.AppName)
	}))
	handle("HEAD /-/healthy", "/-/healthy", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	handle("HEAD /-/ready", "/-/ready", h.testReady(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})))
	handle("GET /-/ready", "/-/ready", h.testReady(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, "%s is Ready.\n", h.o.AppName)
	})))
	if h.o.EnableLifecycle {
		for _, m := range []string{"POST", "PUT"} {
			handle(m+" /-/quit", "/-/quit", http.HandlerFunc(h.quit))
			handle(m+" /-/reload", "/-/reload", http.HandlerFunc(h.reload))
		}
	} else {
		for _, m := range []string{"POST", "PUT"} {
			handle(m+" /-/quit", "/-/quit", http.HandlerFunc(lifecycleForbidden))
			handle(m+" /-/reload", "/-/reload", http.HandlerFunc(lifecycleForbidden))
		}
	}
	handle("GET /-/quit", "/-/quit", http.HandlerFunc(onlyPostOrPut))
	handle("GET /-/reload", "/-/reload", http.HandlerFunc(onlyPostOrPut))

	if h.o.Gatherer != nil {
		var mh http.Handler = promhttp.HandlerFor(h.o.Gatherer, promhttp.HandlerOpts{})
		if h.o.Registerer != nil {
			mh = promhttp.InstrumentMetricHandler(h.o.Registerer, mh)
		}
		handle("GET /metrics", "/metrics", mh)
	}

	mux.Handle("/api/v1/", http.HandlerFunc(h.serveAPI))
	handle("GET /federate", "/federate", h.testReady(http.HandlerFunc(h.serveFederate)))
	for _, m := range []string{"HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"} {
		mux.HandleFunc(m+" /federate", getOnly)
	}
	handle("GET /consoles/", "/consoles/*filepath", h.testReady(http.HandlerFunc(h.serveConsole)))
	if h.o.UserAssetsPath != "" {
		handle("GET /user/", "/user/*filepath", http.StripPrefix("/user", http.FileServer(http.Dir(h.o.UserAssetsPath))))
	}

	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)

	h.pageRoutes(mux)

	if h.o.RoutePrefix == "/" {
		return mux
	}
	prefix := h.o.RoutePrefix
	outer := http.NewServeMux()
	outer.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, prefix, http.StatusFound)
	})
	outer.Handle(prefix+"/", http.StripPrefix(prefix, mux))
	outer.Handle(prefix, http.StripPrefix(prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/"
		mux.ServeHTTP(w, r)
	})))
	return outer
}

// serveAPI dispatches /api/v1/*: the remote-write receiver, then promapi, gated
// on readiness as Prometheus gates them (the WAL replay status and the
// notifications endpoints answer while starting, and so does mytsdb's
// /status/progress, which carries the replay too).
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := apiHandlerName(r.URL.Path)
	var next http.Handler
	switch {
	case r.URL.Path == "/api/v1/write" && r.Method == http.MethodPost:
		next = h.testReady(http.HandlerFunc(h.serveRemoteWrite))
	case r.URL.Path == "/api/v1/status/walreplay" || r.URL.Path == "/api/v1/status/progress" ||
		strings.HasPrefix(r.URL.Path, "/api/v1/notifications"):
		next = http.HandlerFunc(h.servePromAPI)
	default:
		next = h.testReady(http.HandlerFunc(h.servePromAPI))
	}
	h.metrics.instrument(name, next).ServeHTTP(w, r)
}

func (h *Handler) serveRemoteWrite(w http.ResponseWriter, r *http.Request) {
	if p := h.remoteWrite.Load(); p != nil && *p != nil {
		(*p).ServeHTTP(w, r)
		return
	}
	http.Error(w, "remote write receiver needs to be enabled with --web.enable-remote-write-receiver", http.StatusNotFound)
}

// getOnly answers a method other than GET on a GET-only route as
// Prometheus's router (httprouter) does: OPTIONS is a 200 and the others a
// 405, both with Allow listing GET and OPTIONS.
func getOnly(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, OPTIONS")
	if r.Method == http.MethodOptions {
		return
	}
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
}

func (h *Handler) serveFederate(w http.ResponseWriter, r *http.Request) {
	if p := h.federate.Load(); p != nil && *p != nil {
		(*p).ServeHTTP(w, r)
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprint(w, "Service Unavailable")
}

func (h *Handler) servePromAPI(w http.ResponseWriter, r *http.Request) {
	if p := h.api.Load(); p != nil && *p != nil {
		(*p).ServeHTTP(w, r)
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprint(w, "Service Unavailable")
}
