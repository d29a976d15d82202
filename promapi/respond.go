package promapi

import (
	"net/http"

	"github.com/prometheus/prometheus/util/annotations"
)

// maxAnnotations is how many warnings and infos a response lists (Prometheus's 10).
const maxAnnotations = 10

// respond writes a success envelope:
// {"status":"success","data":...,"warnings":[...],"infos":[...]}.
func (a *API) respond(w http.ResponseWriter, r *http.Request, data any, warnings annotations.Annotations, query string) {
	// Prometheus negotiates among its codecs with JSON as the fallback; with
	// JSON the only codec, every Accept header gets JSON.
	warn, info := warnings.AsStrings(query, maxAnnotations, maxAnnotations)
	b := make([]byte, 0, 1024)
	b = append(b, `{"status":"success","data":`...)
	b, err := appendData(b, data)
	if err != nil {
		a.logger.Error("error marshaling response", "url", r.URL, "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b = appendStrings(b, "warnings", warn)
	b = appendStrings(b, "infos", info)
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if n, err := w.Write(b); err != nil {
		a.logger.Error("error writing response", "url", r.URL, "bytesWritten", n, "err", err)
	}
}

// appendStrings appends ,"key":[...] unless list is empty (omitempty).
func appendStrings(b []byte, key string, list []string) []byte {
	if len(list) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":[`...)
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// respondError writes {"status":"error","data":...,"errorType":...,"error":...}
// with the status code of the error type.
func (a *API) respondError(w http.ResponseWriter, e *apiError, data any) {
	b := make([]byte, 0, 256)
	b = append(b, `{"status":"error"`...)
	if data != nil {
		b = append(b, `,"data":`...)
		var err error
		if b, err = appendData(b, data); err != nil {
			a.logger.Error("error marshaling json response", "err", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	b = append(b, `,"errorType":`...)
	b = appendString(b, string(e.typ))
	b = append(b, `,"error":`...)
	b = appendString(b, e.err.Error())
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.typ.httpStatus())
	if n, err := w.Write(b); err != nil {
		a.logger.Error("error writing response", "bytesWritten", n, "err", err)
	}
}
