package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Stats count what a Run delivered: only requests the server acknowledged
// with a 2xx status are counted.
type Stats struct {
	Samples  int64
	Requests int64
	Bytes    int64 // compressed request bytes
	Elapsed  time.Duration
}

// SamplesPerSecond is the delivered rate.
func (s Stats) SamplesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Samples) / s.Elapsed.Seconds()
}

// NewClient returns an HTTP client suited to n concurrent senders. A request
// of a few thousand samples that takes 30 s means a stuck server: it fails.
func NewClient(n int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        n * 2,
			MaxIdleConnsPerHost: n * 2,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// Run sends rounds [from, to) to url (…/api/v1/write): every sender in its own
// goroutine, one request in flight per sender, rounds in order, so each series
// sees increasing timestamps. It stops at the first failed request (the error
// names the status and the server's message) or when ctx ends, in which case
// the returned Stats hold what was delivered before and the error is ctx's.
func (l *Load) Run(ctx context.Context, client *http.Client, url string, from, to int) (Stats, error) {
	return l.RunProgress(ctx, client, url, from, to, nil)
}

// RunProgress is Run that also adds every acknowledged request's samples to
// progress (if not nil) as they are acknowledged, for a caller that samples
// the ingest rate while the load runs.
func (l *Load) RunProgress(ctx context.Context, client *http.Client, url string, from, to int, progress *atomic.Int64) (Stats, error) {
	for _, r := range []int{from, to - 1} {
		var ts [tsLen]byte
		if err := putTimestamp(ts[:], l.Timestamp(r)); err != nil {
			return Stats{}, err
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		samples, requests, nbytes atomic.Int64
		wg                        sync.WaitGroup
	)
	var bar *barrier
	if l.cfg.Lockstep && len(l.senders) > 1 {
		bar = newBarrier(len(l.senders))
		stop := context.AfterFunc(ctx, bar.abort)
		defer stop()
	}
	start := time.Now()
	for s := range l.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hdr := l.headers()
			var ts [tsLen]byte
			for r := from; r < to; r++ {
				if bar != nil && !bar.wait() {
					return
				}
				_ = putTimestamp(ts[:], l.Timestamp(r)) // checked above for the range ends
				for _, b := range l.senders[s] {
					if ctx.Err() != nil {
						return
					}
					b.setRound(r, &ts)
					if err := post(ctx, client, url, hdr, b); err != nil {
						if ctx.Err() == nil {
							cancel(fmt.Errorf("loadgen: sender %d round %d: %w", s, r, err))
						}
						if bar != nil {
							bar.abort()
						}
						return
					}
					samples.Add(int64(len(b.series)))
					if progress != nil {
						progress.Add(int64(len(b.series)))
					}
					requests.Add(1)
					nbytes.Add(int64(len(b.body)))
				}
			}
		}()
	}
	wg.Wait()
	st := Stats{Samples: samples.Load(), Requests: requests.Load(), Bytes: nbytes.Load(), Elapsed: time.Since(start)}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return st, err
	}
	if err := ctx.Err(); err != nil && st.Samples < int64(to-from)*int64(l.cfg.Series) {
		return st, err
	}
	return st, nil
}

func (l *Load) headers() http.Header {
	h := http.Header{}
	h.Set("Content-Encoding", "snappy")
	h.Set("User-Agent", "mytsdb-loadgen")
	if l.cfg.Protocol == V1 {
		h.Set("Content-Type", "application/x-protobuf")
		h.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	} else {
		h.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
		h.Set("X-Prometheus-Remote-Write-Version", "2.0.0")
	}
	if l.cfg.Tenant != "" {
		h.Set("X-Scope-OrgID", l.cfg.Tenant)
	}
	return h
}

func post(ctx context.Context, client *http.Client, endpoint string, hdr http.Header, b *batch) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(b.body))
	if err != nil {
		return err
	}
	req.Header = hdr
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			if ue.Timeout() && ctx.Err() == nil {
				return fmt.Errorf("no response within %s (server stuck?)", client.Timeout)
			}
			return ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if v := resp.Header.Get("X-Prometheus-Remote-Write-Samples-Written"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n != len(b.series) {
			return fmt.Errorf("server wrote %d of %d samples", n, len(b.series))
		}
	}
	return nil
}

// barrier is a reusable rendezvous of n goroutines; abort releases every
// waiter for good (wait then returns false).
type barrier struct {
	mu      sync.Mutex
	cond    *sync.Cond
	n       int
	waiting int
	gen     int
	aborted bool
}

func newBarrier(n int) *barrier {
	b := &barrier{n: n}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// wait blocks until all n goroutines called it (true) or abort was called
// (false).
func (b *barrier) wait() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.aborted {
		return false
	}
	gen := b.gen
	b.waiting++
	if b.waiting == b.n {
		b.waiting = 0
		b.gen++
		b.cond.Broadcast()
		return true
	}
	for gen == b.gen && !b.aborted {
		b.cond.Wait()
	}
	return gen != b.gen
}

func (b *barrier) abort() {
	b.mu.Lock()
	b.aborted = true
	b.cond.Broadcast()
	b.mu.Unlock()
}
