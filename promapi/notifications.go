package promapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/grafana/regexp"
	"github.com/prometheus/prometheus/util/httputil"
	"github.com/prometheus/prometheus/util/notifications"
	"google.golang.org/protobuf/encoding/protojson"
)

// Notices is the server's list of notices for the UI ("Configuration reload
// has failed.", "...starting and replaying the WAL", "...shutting down"):
// the upstream util/notifications store, which also enforces
// --web.max-notifications-subscribers on the live stream.
type Notices interface {
	Get() []notifications.Notification
	Sub() (<-chan notifications.Notification, func(), bool)
}

// notifications is /notifications: the server's current notices.
func (a *API) notifications(*http.Request) result {
	if a.opts.Notices == nil {
		return result{data: []notifications.Notification{}}
	}
	return result{data: a.opts.Notices.Get()}
}

// notificationsLive is /notifications/live: a server-sent-event stream of
// notices (each current one first, then every change) until the client
// leaves; 204 when the subscriber limit is reached, as Prometheus answers.
func (a *API) notificationsLive(w http.ResponseWriter, r *http.Request) {
	httputil.SetCORS(w, a.cors, r)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	var updates <-chan notifications.Notification
	if a.opts.Notices != nil {
		ch, unsubscribe, ok := a.opts.Notices.Sub()
		if !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		defer unsubscribe()
		updates = ch
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "Streaming unsupported", http.StatusInternalServerError)
		return
	}
	flusher.Flush()
	for {
		select {
		case n := <-updates:
			b, err := json.Marshal(n)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				continue
			}
			fmt.Fprintf(w, "data: %s\n\n", b)
			flusher.Flush()
		case <-r.Context().Done():
			return
		}
	}
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
