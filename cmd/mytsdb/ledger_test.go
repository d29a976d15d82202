package main

import (
	"fmt"
	"math"
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
	l.mu.Lock()
	defer l.mu.Unlock()
	got, err := p.rangeSamples(l.metric, "2h", time.UnixMilli(l.nextT).Add(time.Minute))
	if err != nil {
		return err
	}
	for key, samples := range got {
		sent, ok := l.sent[key]
		if !ok {
			return fmt.Errorf("series %s was never sent", key)
		}
		for i, s := range samples {
			if i > 0 && s.T <= samples[i-1].T {
				return fmt.Errorf("series %s: timestamp %d follows %d (duplicate or out of order)", key, s.T, samples[i-1].T)
			}
			want, ok := sent[s.T]
			if !ok {
				return fmt.Errorf("series %s: sample at %d was never sent", key, s.T)
			}
			v, err := strconv.ParseFloat(s.V, 64)
			if err != nil {
				return fmt.Errorf("series %s: value %q: %w", key, s.V, err)
			}
			if math.Float64bits(v) != math.Float64bits(want) {
				return fmt.Errorf("series %s at %d: value %v, sent %v", key, s.T, v, want)
			}
		}
	}
	missing := 0
	var example string
	for key, acked := range l.acked {
		have := map[int64]bool{}
		for _, s := range got[key] {
			have[s.T] = true
		}
		for ts := range acked {
			if !have[ts] {
				missing++
				if example == "" {
					example = fmt.Sprintf("%s at %d", key, ts)
				}
			}
		}
	}
	if missing > 0 {
		return fmt.Errorf("%d acknowledged samples are missing (e.g. %s); %d batches acked, %d failed", missing, example, l.nAcked, l.nFailed)
	}
	return nil
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
