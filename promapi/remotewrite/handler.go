package remotewrite

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"
)

const (
	appProtoContentType = "application/x-protobuf"
	// maxDecodedSize bounds compressed and decompressed bodies (32 MiB), as in
	// client_golang's remote-write handler that Prometheus uses.
	maxDecodedSize = 32 * 1024 * 1024

	samplesWrittenHeader    = "X-Prometheus-Remote-Write-Samples-Written"
	histogramsWrittenHeader = "X-Prometheus-Remote-Write-Histograms-Written"
	exemplarsWrittenHeader  = "X-Prometheus-Remote-Write-Exemplars-Written"
)

type handler struct {
	o      Options
	logger *slog.Logger
	seeds  hashSeeds
	pool   sync.Pool // *reqState

	caches struct {
		sync.RWMutex
		m map[string]tenantCache
	}

	invalidLabels   prometheus.Counter
	withoutMetadata prometheus.Counter
	optionsErr      error
}

// NewHandler returns the handler of POST /api/v1/write. Options that fail
// Validate make every request answer 500 with the problem (call Validate at
// start-up to fail early).
func NewHandler(o Options) http.Handler {
	h := &handler{o: o, logger: o.Logger, seeds: newHashSeeds()}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	h.optionsErr = o.Validate()
	h.caches.m = map[string]tenantCache{}
	h.pool.New = func() any { return newReqState(h.seeds) }
	h.invalidLabels = promauto.With(o.Registerer).NewCounter(prometheus.CounterOpts{
		Namespace: "prometheus",
		Subsystem: "api",
		Name:      "remote_write_invalid_labels_samples_total",
		Help:      "The total number of received remote write samples and histogram samples which were rejected due to invalid labels.",
	})
	h.withoutMetadata = promauto.With(o.Registerer).NewCounter(prometheus.CounterOpts{
		Namespace: "prometheus",
		Subsystem: "api",
		Name:      "remote_write_without_metadata_appended_samples_total",
		Help:      "The total number of received remote write samples (and histogram samples) which were ingested without corresponding metadata.",
	})
	return h
}

// parseProto returns the message named by a Content-Type, with the errors of
// client_golang's ParseProtoMsg.
func parseProto(contentType string) (Proto, error) {
	switch contentType { // the common cases, without allocating
	case appProtoContentType, appProtoContentType + ";proto=" + string(ProtoV1):
		return ProtoV1, nil
	case appProtoContentType + ";proto=" + string(ProtoV2):
		return ProtoV2, nil
	}
	contentType = strings.TrimSpace(contentType)
	parts := strings.Split(contentType, ";")
	if parts[0] != appProtoContentType {
		return "", fmt.Errorf("expected %v as the first (media) part, got %v content-type", appProtoContentType, contentType)
	}
	for _, p := range parts[1:] {
		pair := strings.Split(p, "=")
		if len(pair) != 2 {
			return "", fmt.Errorf("as per https://www.rfc-editor.org/rfc/rfc9110#parameter expected parameters to be key-values, got %v in %v content-type", p, contentType)
		}
		if pair[0] == "proto" {
			switch m := Proto(pair[1]); m {
			case ProtoV1, ProtoV2:
				return m, nil
			default:
				return "", fmt.Errorf("got %v content type; unknown type for remote write protobuf message %v, supported: %v, %v", contentType, m, ProtoV1, ProtoV2)
			}
		}
	}
	return ProtoV1, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.optionsErr != nil {
		http.Error(w, h.optionsErr.Error(), http.StatusInternalServerError)
		return
	}
	st := h.pool.Get().(*reqState)
	defer func() {
		st.reset()
		h.pool.Put(st)
	}()

	// Decompression comes first, as in Prometheus where it is a middleware
	// around the protocol handler.
	if enc := r.Header.Get("Content-Encoding"); enc != "" && enc != "snappy" {
		err := fmt.Errorf("%v encoding (compression) is not accepted by this server; only %v is acceptable", enc, "snappy")
		h.logger.Error("Error decoding remote write request", "err", err)
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return
	}
	if err := st.readBody(r.Body, r.ContentLength, maxDecodedSize); err != nil {
		if errors.Is(err, errBodyTooLarge) {
			h.logger.Error("Request body exceeds the limit", "limitBytes", maxDecodedSize)
			http.Error(w, fmt.Sprintf("request body exceeds the %v bytes limit", maxDecodedSize), http.StatusRequestEntityTooLarge)
			return
		}
		h.logger.Error("Error reading request body", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n, err := snappy.DecodedLen(st.body)
	if err != nil {
		h.logger.Error("Error snappy decoding request body length", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if n > maxDecodedSize {
		h.logger.Error("Snappy decoded size exceeds the limit", "sizeBytes", n, "limitBytes", maxDecodedSize)
		http.Error(w, fmt.Sprintf("decoded size exceeds the %v bytes limit", maxDecodedSize), http.StatusBadRequest)
		return
	}
	decoded, err := snappy.Decode(st.decoded[:cap(st.decoded)], st.body)
	if err != nil {
		h.logger.Error("Error snappy decoding remote write request", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if cap(decoded) > cap(st.decoded) {
		st.decoded = decoded[:0]
	}

	if r.Method != http.MethodPost {
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	contentType := r.Header.Get("Content-Type")
	if contentType == "" {
		contentType = appProtoContentType
	}
	msg, err := parseProto(contentType)
	if err != nil {
		h.logger.Error("Error decoding remote write request", "err", err)
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return
	}
	if !h.o.accepts(msg) {
		err := fmt.Errorf("%v protobuf message is not accepted by this server; only accepts %v", msg, h.o.acceptedString())
		h.logger.Error("Unaccepted message type", "msgType", msg, "err", err)
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return
	}

	s, code, err := h.store(r, st, msg, decoded)
	if msg == ProtoV2 {
		hd := w.Header()
		hd.Set(samplesWrittenHeader, strconv.Itoa(s.samples))
		hd.Set(histogramsWrittenHeader, strconv.Itoa(s.histograms))
		hd.Set(exemplarsWrittenHeader, strconv.Itoa(s.exemplars))
	}
	if err != nil {
		if code < 400 {
			code = http.StatusInternalServerError
		}
		if code/100 == 5 {
			h.logger.Error("Error while storing the remote write request", "err", err)
		}
		http.Error(w, err.Error(), code)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// store resolves the tenant, decodes and appends. It returns the 2.0 counts,
// the status for an error, and the error whose text is the response body.
func (h *handler) store(r *http.Request, st *reqState, msg Proto, body []byte) (stats, int, error) {
	tenant := r.Header.Get(TenantHeader)
	if tenant == "" {
		tenant = DefaultTenant
	}
	validate := h.o.ValidateTenant
	if validate == nil {
		validate = ValidateTenantID
	}
	if err := validate(tenant); err != nil {
		return stats{}, http.StatusBadRequest, fmt.Errorf("invalid tenant in %s header: %w", TenantHeader, err)
	}

	if msg == ProtoV1 {
		if err := st.v1.decode(body); err != nil {
			err = upstreamError(body, err, &prompb.WriteRequest{})
			h.logger.Error("Error decoding v1 remote write request", "protobuf_message", msg, "err", err.Error())
			return stats{}, http.StatusBadRequest, err
		}
	} else if err := st.v2.decode(body); err != nil {
		err = upstreamError(body, err, &writev2.Request{})
		h.logger.Error("Error decoding v2 remote write request", "protobuf_message", msg, "err", err.Error())
		return stats{}, http.StatusBadRequest, err
	}

	a, err := h.o.Appendable(tenant)
	if err != nil {
		return stats{}, http.StatusInternalServerError, fmt.Errorf("remote write: storage of tenant %q: %w", tenant, err)
	}
	c := h.cache(tenant, a)

	if msg == ProtoV1 {
		err := h.writeV1(r.Context(), st, a, c)
		switch {
		case err == nil:
			return stats{}, 0, nil
		case isSampleError(err), isHistogramValidationError(err):
			return stats{}, http.StatusBadRequest, err
		default:
			return stats{}, http.StatusInternalServerError, err
		}
	}
	return h.writeV2(r.Context(), st, a, c)
}

// upstreamError returns the error the upstream gogo decoder gives for b, so
// that a malformed body is answered with Prometheus's exact text; ours is
// kept should upstream accept it (the fuzz tests say it never does).
func upstreamError(b []byte, ours error, m interface{ Unmarshal([]byte) error }) error {
	if err := m.Unmarshal(b); err != nil {
		return err
	}
	return ours
}

// tenantCache is the ref cache of a tenant and the storage its refs are of.
type tenantCache struct {
	app storage.AppendableV2
	c   *refCache
}

// cache returns the ref cache of a tenant, nil when disabled. Refs belong to
// one storage instance: when the tenant's storage is another one than the
// cache's (the tenant was closed and reopened, whose head may hand out the
// same refs to other series), the cache starts over.
func (h *handler) cache(tenant string, a storage.AppendableV2) *refCache {
	if h.o.RefCacheSize < 0 {
		return nil
	}
	h.caches.RLock()
	tc, ok := h.caches.m[tenant]
	h.caches.RUnlock()
	if ok && sameStorage(tc.app, a) {
		return tc.c
	}
	h.caches.Lock()
	defer h.caches.Unlock()
	if tc, ok = h.caches.m[tenant]; !ok || !sameStorage(tc.app, a) {
		size := h.o.RefCacheSize
		if size == 0 {
			size = DefaultRefCacheSize
		}
		tc = tenantCache{app: a, c: newRefCache(size)}
		h.caches.m[tenant] = tc
	}
	return tc.c
}

// sameStorage reports whether x and y are the same storage. Only pointers
// are compared (comparing other values may panic); other values of one type
// count as the same.
func sameStorage(x, y storage.AppendableV2) bool {
	tx := reflect.TypeOf(x)
	if tx != reflect.TypeOf(y) {
		return false
	}
	if tx == nil || tx.Kind() != reflect.Pointer {
		return true
	}
	return x == y
}
