package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
)

// TenantHeader names the tenant of a request (Mimir's convention).
const TenantHeader = "X-Scope-OrgID"

// DefaultTenant is the tenant of requests without TenantHeader.
const DefaultTenant = "default"

// Options configure the receiver.
type Options struct {
	// Appendable returns the storage of a tenant (already validated).
	// Required.
	Appendable func(tenant string) (storage.AppendableV2, error)
	// Config is the running configuration; its OTLPConfig is applied to
	// each request. Required.
	Config func() config.Config
	// ConvertDelta is --enable-feature=otlp-deltatocumulative, NativeDelta
	// --enable-feature=otlp-native-delta-ingestion; at most one may be set.
	ConvertDelta bool
	NativeDelta  bool
	// LookbackDelta is --query.lookback-delta (target_info's sample interval).
	LookbackDelta time.Duration
	// EnableTypeAndUnitLabels is --enable-feature=type-and-unit-labels.
	EnableTypeAndUnitLabels bool
	// AppendMetadata is --enable-feature=metadata-wal-records: the
	// translated metrics' type, unit and help reach the storage. Without it
	// they are dropped before Append, as Prometheus's TSDB drops them
	// (mytsdb's head logs whatever metadata it is given).
	AppendMetadata bool
	// ValidateTenant checks X-Scope-OrgID values; nil accepts any non-empty
	// ID. The binary passes the storage's own check.
	ValidateTenant func(string) error
	Logger         *slog.Logger          // nil: discard
	Registerer     prometheus.Registerer // nil: metrics are not registered
}

// Validate reports every problem of o at once.
func (o *Options) Validate() error {
	var errs []string
	if o.Appendable == nil {
		errs = append(errs, "Appendable is required")
	}
	if o.Config == nil {
		errs = append(errs, "Config is required")
	}
	if o.ConvertDelta && o.NativeDelta {
		errs = append(errs, "cannot enable otlp-deltatocumulative and otlp-native-delta-ingestion features at the same time")
	}
	if len(errs) > 0 {
		return fmt.Errorf("otlp: invalid options: %s", strings.Join(errs, "; "))
	}
	return nil
}

type handler struct {
	o          Options
	logger     *slog.Logger
	optionsErr error

	mu      sync.Mutex
	tenants map[string]http.Handler // tenant → upstream handler
}

// NewHandler returns the handler of POST /api/v1/otlp/v1/metrics. Options
// that fail Validate make every request answer 500 with the problem (call
// Validate at start-up to fail early).
func NewHandler(o Options) http.Handler {
	h := &handler{o: o, logger: o.Logger, optionsErr: o.Validate(), tenants: map[string]http.Handler{}}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.optionsErr == nil {
		h.forTenant(DefaultTenant)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.optionsErr != nil {
		http.Error(w, h.optionsErr.Error(), http.StatusInternalServerError)
		return
	}
	tenant := r.Header.Get(TenantHeader)
	if tenant == "" {
		tenant = DefaultTenant
	}
	if h.o.ValidateTenant != nil {
		if err := h.o.ValidateTenant(tenant); err != nil {
			http.Error(w, fmt.Sprintf("invalid tenant in %s header: %v", TenantHeader, err), http.StatusBadRequest)
			return
		}
	}
	res := &commitResult{}
	cw := &commitWriter{ResponseWriter: w, res: res}
	h.forTenant(tenant).ServeHTTP(cw, r.WithContext(context.WithValue(r.Context(), commitKey{}, res)))
}

// commitKey carries a request's *commitResult to its appenders.
type commitKey struct{}

// commitResult is the error of the request's Commit. The upstream handler
// commits in a deferred call whose error it drops, then answers 200; a
// storage that fails to commit (a WAL write, a full disk) would so lose
// samples the client believes stored.
type commitResult struct {
	mu  sync.Mutex
	err error
}

func (c *commitResult) set(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = errors.Join(c.err, err)
}

func (c *commitResult) get() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// commitWriter turns the upstream handler's 200 into a 500 naming the error
// when the commit failed, so that the client retries.
type commitWriter struct {
	http.ResponseWriter
	res      *commitResult
	replaced bool
}

func (w *commitWriter) WriteHeader(code int) {
	if code == http.StatusOK {
		if err := w.res.get(); err != nil {
			w.replaced = true
			http.Error(w.ResponseWriter, fmt.Sprintf("committing the samples: %v", err), http.StatusInternalServerError)
			return
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *commitWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// committing reports the Commit error of a tenant's appender to the
// request's commitResult.
type committing struct {
	storage.AppenderV2
	res          *commitResult
	keepMetadata bool
}

func (c committing) Append(ref storage.SeriesRef, l labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AOptions) (storage.SeriesRef, error) {
	if !c.keepMetadata {
		opts.Metadata = metadata.Metadata{}
	}
	return c.AppenderV2.Append(ref, l, st, t, v, h, fh, opts)
}

func (c committing) Commit() error {
	err := c.AppenderV2.Commit()
	if err != nil && c.res != nil {
		c.res.set(err)
	}
	return err
}

// forTenant returns the tenant's upstream handler, building it on first use.
func (h *handler) forTenant(tenant string) http.Handler {
	h.mu.Lock()
	defer h.mu.Unlock()
	if uh, ok := h.tenants[tenant]; ok {
		return uh
	}
	var reg prometheus.Registerer
	if h.o.Registerer != nil {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"tenant": tenant}, h.o.Registerer)
	}
	app := &lazyAppendable{open: func() (storage.AppendableV2, error) { return h.o.Appendable(tenant) }, keepMetadata: h.o.AppendMetadata}
	uh := remote.NewOTLPWriteHandler(h.logger.With("tenant", tenant), reg, app, h.o.Config, remote.OTLPOptions{
		ConvertDelta:            h.o.ConvertDelta,
		NativeDelta:             h.o.NativeDelta,
		LookbackDelta:           h.o.LookbackDelta,
		EnableTypeAndUnitLabels: h.o.EnableTypeAndUnitLabels,
	})
	h.tenants[tenant] = uh
	return uh
}

// lazyAppendable opens the tenant's storage when the upstream handler asks
// for an appender, that is after the request decoded: a malformed request
// never creates a tenant.
type lazyAppendable struct {
	open         func() (storage.AppendableV2, error)
	keepMetadata bool
}

func (l *lazyAppendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	var app storage.AppenderV2
	if a, err := l.open(); err != nil {
		app = &failedAppender{err: fmt.Errorf("opening the tenant's storage: %w", err)}
	} else {
		app = a.AppenderV2(ctx)
	}
	// Every request carries a commitResult (ServeHTTP).
	res, _ := ctx.Value(commitKey{}).(*commitResult)
	return committing{AppenderV2: app, res: res, keepMetadata: l.keepMetadata}
}

// failedAppender reports a tenant that could not be opened: its first Append
// fails (the converter joins every Append error into the response, so one is
// enough) and so does Commit, which the handler calls when no sample was in
// the request.
type failedAppender struct {
	err      error
	reported bool
}

func (f *failedAppender) Append(storage.SeriesRef, labels.Labels, int64, int64, float64, *histogram.Histogram, *histogram.FloatHistogram, storage.AOptions) (storage.SeriesRef, error) {
	if f.reported {
		return 0, nil
	}
	f.reported = true
	return 0, f.err
}

func (f *failedAppender) Commit() error { return f.err }

func (*failedAppender) Rollback() error { return nil }

var _ storage.AppenderV2 = (*failedAppender)(nil)
