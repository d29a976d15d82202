package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ParquetKind's query: one gauge every host has once, so that 10 hosts
// give the "10 series", over 1h in the middle of the 24h block, at
// the data's interval (every sample is read).
const (
	parquetQuery  = "node_load1"
	parquetHosts  = 10
	parquetOffset = 10 * time.Hour // the query's start, from the block's start
)

// parquet is ParquetKind (mytsdb only: Prometheus has no Parquet tier):
// write Span of node series into 24h blocks, wait until the first 24h block
// is cut and its Parquet copy is in the bucket (the default FILESYSTEM
// bucket under the data directory), measure the bytes per sample of both
// copies and time the 1h query over the local block (warm); restart with
// --storage.parquet.local-retention=0s so that the block leaves the disk,
// run the query once on a cold cache while reading the objstore_bucket_*
// counters (GetRange calls, bytes fetched), then time it warm.
func (r *blockRunner) parquet() {
	b, o := r.b, r.o
	id := b.id()
	s := startSampler(r.p.pid(), r.dataDir, new(atomic.Int64), 100*time.Millisecond)
	t0 := time.Now()
	st, err := r.ingest(0, b.rounds(), nil)
	took := time.Since(t0)
	if err == nil {
		waitIdle(r.ctx, s, 3*time.Second, 2*time.Minute)
	}
	s.stop()
	if err != nil {
		o.fail(b, err)
		return
	}
	o.notef("%d samples in %s (%.0f/s)", st.Samples, took.Round(time.Millisecond), st.SamplesPerSecond())
	blk, err := r.waitParquetCopy(2 * time.Minute)
	if err != nil {
		o.fail(b, err)
		return
	}
	localBytes, err1 := dirBytes(filepath.Join(r.dataDir, "default", "blocks", blk.ULID))
	bucketBytes, err2 := dirBytes(filepath.Join(r.dataDir, "bucket", "default", blk.ULID))
	if err := errors.Join(err1, err2); err != nil || blk.Samples == 0 {
		o.errs[id+"/local-bps"], o.errs[id+"/parquet-bps"], o.errs[id+"/bps-ratio"] = err, err, err
	} else {
		o.values[id+"/local-bps"] = float64(localBytes) / float64(blk.Samples)
		o.values[id+"/parquet-bps"] = float64(bucketBytes) / float64(blk.Samples)
		o.values[id+"/bps-ratio"] = float64(bucketBytes) / float64(localBytes)
	}
	o.notef("24h block %s: %d samples, %d bytes local, %d bytes in the bucket", blk.ULID, blk.Samples, localBytes, bucketBytes)

	start := blk.MinTime + parquetOffset.Milliseconds()
	end := start + time.Hour.Milliseconds()
	step := time.Duration(b.IntervalMs) * time.Millisecond
	query := func() (time.Duration, fingerprint, error) {
		ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
		defer cancel()
		return rangeQuery(ctx, r.p.url, parquetQuery, start, end, step)
	}
	warm := func(key string) (fingerprint, bool) {
		var lat []time.Duration
		var fp fingerprint
		for it := -1; it < b.QueryIters; it++ { // it = -1: warm-up, untimed
			d, f, err := query()
			if err != nil {
				o.errs[key] = err
				return fp, false
			}
			if it >= 0 {
				lat = append(lat, d)
			}
			fp = f
		}
		o.values[key] = quantile(lat, 0.5).Seconds() * 1000
		return fp, true
	}
	localFP, okLocal := warm(id + "/local-ms")

	// The same data, only in the bucket.
	r.p.stop()
	np, err := startProc(r.p.name, r.p.binary, r.p.configFile, r.dataDir, r.p.logPath, append(append([]string(nil), r.p.extra...), "--storage.parquet.local-retention=0s"))
	if err != nil {
		o.fail(b, err)
		return
	}
	r.p = np
	if err := np.waitReady(r.ctx, r.cfg.ReadyTimeout); err != nil {
		o.fail(b, fmt.Errorf("restart: %w", err))
		return
	}
	if err := r.waitOnlyInBucket(blk.ULID, 3*time.Minute); err != nil {
		o.fail(b, err)
		return
	}
	before, err := bucketCounters(r.ctx, np.url)
	if err != nil {
		o.fail(b, err)
		return
	}
	d, coldFP, err := query()
	if err != nil {
		o.fail(b, err)
		return
	}
	after, err := bucketCounters(r.ctx, np.url)
	if err != nil {
		o.fail(b, err)
		return
	}
	o.values[id+"/cold-ms"] = d.Seconds() * 1000
	o.values[id+"/getrange"] = after.getRange - before.getRange
	o.values[id+"/fetched"] = after.fetched - before.fetched
	parquetFP, okParquet := warm(id + "/parquet-ms")
	if okLocal && okParquet {
		o.values[id+"/ratio"] = o.values[id+"/parquet-ms"] / o.values[id+"/local-ms"]
		switch {
		case !localFP.same(parquetFP) || !localFP.same(coldFP):
			o.notef("RESULTS DIFFER: local block %s; Parquet cold %s, warm %s", localFP, coldFP, parquetFP)
		default:
			o.notef("the query answers the same from the local block and from the bucket (cold and warm): %s", localFP)
		}
	}
}

// waitParquetCopy waits until a block spanning the whole range (24h) is
// local and its copy complete in the bucket (its meta.json there).
func (r *blockRunner) waitParquetCopy(timeout time.Duration) (blockInfo, error) {
	deadline := time.Now().Add(timeout)
	for {
		blocks, _, _ := newBlockScanner(r.dataDir).scan()
		for _, bl := range blocks {
			if bl.MaxTime-bl.MinTime < r.b.blockRange().Milliseconds() {
				continue
			}
			if _, err := os.Stat(filepath.Join(r.dataDir, "bucket", "default", bl.ULID, "meta.json")); err == nil {
				return bl, nil
			}
		}
		if time.Now().After(deadline) || r.ctx.Err() != nil {
			return blockInfo{}, fmt.Errorf("no %s block with its Parquet copy after %s: %s", promDuration(r.b.blockRange()), timeout, layout(blocks))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitOnlyInBucket waits until /api/v1/status/tsdb/blocks lists ulid as
// held only in the Parquet tier ("tier": "parquet").
func (r *blockRunner) waitOnlyInBucket(ulid string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(r.p.url + "/api/v1/status/tsdb/blocks")
		if err == nil {
			var d struct {
				Data struct {
					Blocks []struct {
						ULID string `json:"ulid"`
						Tier string `json:"tier"`
					} `json:"blocks"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&d)
			resp.Body.Close()
			for _, bl := range d.Data.Blocks {
				if bl.ULID == ulid && bl.Tier == "parquet" {
					return nil
				}
			}
		}
		if time.Now().After(deadline) || r.ctx.Err() != nil {
			return fmt.Errorf("block %s not held only in the Parquet tier %s after the restart with --storage.parquet.local-retention=0s (last error: %v)", ulid, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// bucketFigures are the objstore counters of the tier's bucket.
type bucketFigures struct{ getRange, fetched float64 }

// bucketCounters reads objstore_bucket_operations_total and
// objstore_bucket_operation_fetched_bytes_total for operation="get_range"
// of bucket="parquet" from /metrics.
func bucketCounters(ctx context.Context, base string) (bucketFigures, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return bucketFigures{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return bucketFigures{}, err
	}
	defer resp.Body.Close()
	var f bucketFigures
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `operation="get_range"`) || !strings.Contains(line, `bucket="parquet"`) {
			continue
		}
		var dst *float64
		switch {
		case strings.HasPrefix(line, "objstore_bucket_operations_total{"):
			dst = &f.getRange
		case strings.HasPrefix(line, "objstore_bucket_operation_fetched_bytes_total{"):
			dst = &f.fetched
		default:
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return bucketFigures{}, fmt.Errorf("/metrics: %q: %w", line, err)
		}
		*dst = v
		found++
	}
	if err := sc.Err(); err != nil {
		return bucketFigures{}, err
	}
	if found < 2 {
		return bucketFigures{}, errors.New("/metrics lacks objstore_bucket_operations_total and objstore_bucket_operation_fetched_bytes_total for bucket=\"parquet\", operation=\"get_range\"")
	}
	return f, nil
}
