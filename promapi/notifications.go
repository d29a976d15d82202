package promapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/grafana/regexp"
	"github.com/prometheus/prometheus/util/httputil"
	"google.golang.org/protobuf/encoding/protojson"
)

// notifications is /notifications: the server's notices for the UI (none
// are raised yet, so always an empty list, as a healthy Prometheus shows).
func (a *API) notifications(*http.Request) result {
	return result{data: []struct{}{}}
}

// notificationsLive is /notifications/live: a server-sent-event stream that,
// with no notices ever raised, stays open and silent until the client leaves.
func (a *API) notificationsLive(w http.ResponseWriter, r *http.Request) {
	httputil.SetCORS(w, a.cors, r)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "Streaming unsupported", http.StatusInternalServerError)
		return
	}
	flusher.Flush()
	<-r.Context().Done()
}

// selfMetrics is /status/self_metrics: the server's own metric families as
// protobuf JSON, optionally filtered by metric_name_pattern (anchored).
func (a *API) selfMetrics(r *http.Request) result {
	var filter *regexp.Regexp
	if p := r.FormValue("metric_name_pattern"); p != "" {
		var err error
		if filter, err = regexp.Compile("^(?:" + p + ")$"); err != nil {
			return result{err: badData(fmt.Errorf("invalid metric_name_pattern: %w", err))}
		}
	}
	if a.opts.Gatherer == nil {
		return result{data: []json.RawMessage{}}
	}
	mfs, err := a.opts.Gatherer.Gather()
	if err != nil {
		return result{err: &apiError{errorInternal, fmt.Errorf("error gathering self metrics: %w", err)}}
	}
	out := make([]json.RawMessage, 0, len(mfs))
	for _, mf := range mfs {
		if filter != nil && !filter.MatchString(mf.GetName()) {
			continue
		}
		b, err := protojson.MarshalOptions{}.Marshal(mf)
		if err != nil {
			return result{err: &apiError{errorInternal, fmt.Errorf("error marshaling metric family %q: %w", mf.GetName(), err)}}
		}
		out = append(out, json.RawMessage(b))
	}
	return result{data: out}
}
