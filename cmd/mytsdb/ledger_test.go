package main

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// ledger is the reference model of the remote-write tests: every sample sent,
// and which of them the server acknowledged with 204.
type ledger struct {
	mu      sync.Mutex
	metric  string
	series  int
	nextT   int64
	batch   int
	sent    map[string]map[int64]float64 // series key → timestamp → value
	acked   map[string]map[int64]float64
	nAcked  int
	nFailed int
}

func newLedger(metric string, series int, start time.Time) *ledger {
	return &ledger{
		metric: metric,
		series: series,
		nextT:  start.UnixMilli(),
		sent:   map[string]map[int64]float64{},
		acked:  map[string]map[int64]float64{},
	}
}

func (l *ledger) seriesLabels(k int) map[string]string {
	return map[string]string{"__name__": l.metric, "series": strconv.Itoa(k)}
}

// next builds the next batch: one sample per series at a fresh timestamp,
// with values whose every bit matters.
func (l *ledger) next() (*prompb.WriteRequest, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.nextT
	l.nextT += 100
	l.batch++
	req := &prompb.WriteRequest{}
	for k := 0; k < l.series; k++ {
		v := float64(l.batch)*1.5 + float64(k)/7.0
		lbls := l.seriesLabels(k)
		key := labelKey(lbls)
		if l.sent[key] == nil {
			l.sent[key] = map[int64]float64{}
		}
		l.sent[key][ts] = v
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
			Labels:  []prompb.Label{{Name: "__name__", Value: l.metric}, {Name: "series", Value: strconv.Itoa(k)}},
			Samples: []prompb.Sample{{Timestamp: ts, Value: v}},
		})
	}
	return req, ts
}

func (l *ledger) ack(req *prompb.WriteRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range req.Timeseries {
		m := map[string]string{}
		for _, lb := range s.Labels {
			m[lb.Name] = lb.Value
		}
		key := labelKey(m)
		if l.acked[key] == nil {
			l.acked[key] = map[int64]float64{}
		}
		for _, smp := range s.Samples {
			l.acked[key][smp.Timestamp] = smp.Value
		}
	}
	l.nAcked++
}

func (l *ledger) failures() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nFailed
}

func (l *ledger) acks() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nAcked
}

// push sends one batch and records the outcome.
func (l *ledger) push(client *http.Client, addr string) (int, error) {
	req, _ := l.next()
	code, err := remoteWrite(client, addr, req)
	if err == nil && code == http.StatusNoContent {
		l.ack(req)
		return code, nil
	}
	l.mu.Lock()
	l.nFailed++
	l.mu.Unlock()
	return code, err
}

// verify checks the server against the ledger: every acknowledged sample is
// present with its exact value, every returned sample was sent with that
// value (nothing invented, nothing altered), and no timestamp repeats.
func (l *ledger) verify(p *proc) error {
	// Held across the query: a batch acknowledged after it must not count.
	l.mu.Lock()
	defer l.mu.Unlock()
	got, err := p.rangeSamples(l.metric, "2h", time.UnixMilli(l.nextT).Add(time.Minute))
	if err != nil {
		return err
	}
	return l.verifyGoneLocked(got, func(string, int64) bool { return false })
}

// writer pushes batches back to back until stop is closed.
func (l *ledger) writer(addr string, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case <-stop:
			return
		default:
		}
		// Down (an error) or starting (503 until ready): keep trying at a
		// gentle pace rather than thousands of requests a second.
		if code, err := l.push(client, addr); err != nil || code != http.StatusNoContent {
			time.Sleep(5 * time.Millisecond)
		}
	}
}
