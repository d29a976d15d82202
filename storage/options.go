package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mytsdb/storage/wal"
)

// DefaultRetention is Prometheus's default --storage.tsdb.retention.time.
const DefaultRetention = 15 * 24 * time.Hour

// retentionInterval is how often the retention loop truncates every tenant.
const retentionInterval = time.Minute

// Options configures a DB.
type Options struct {
	Dir                  string        // --storage.tsdb.path
	RetentionDuration    time.Duration // --storage.tsdb.retention.time (0 = DefaultRetention)
	WALSync              wal.SyncPolicy
	WALSyncInterval      time.Duration
	WALSegmentSize       int64
	WALWriter            string
	OutOfOrderTimeWindow int64 // ms, from the config's storage.tsdb.out_of_order_time_window
	Logger               *slog.Logger
	Registerer           prometheus.Registerer

	// MaxExemplars is the exemplar ring size per tenant (0 = head default,
	// < 0 disables exemplar storage).
	MaxExemplars int
	// ChunkRange is the head chunk range in ms (0 = 2h), Prometheus's
	// --storage.tsdb.min-block-duration.
	ChunkRange int64
}

// Validate reports every problem of o at once.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("storage: Dir is empty"))
	}
	if o.RetentionDuration < 0 {
		errs = append(errs, fmt.Errorf("storage: negative RetentionDuration %s", o.RetentionDuration))
	}
	if o.OutOfOrderTimeWindow < 0 {
		errs = append(errs, fmt.Errorf("storage: negative OutOfOrderTimeWindow %d", o.OutOfOrderTimeWindow))
	}
	if o.WALSegmentSize < 0 {
		errs = append(errs, fmt.Errorf("storage: negative WALSegmentSize %d", o.WALSegmentSize))
	}
	if o.ChunkRange < 0 {
		errs = append(errs, fmt.Errorf("storage: negative ChunkRange %d", o.ChunkRange))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.RetentionDuration == 0 {
		o.RetentionDuration = DefaultRetention
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
