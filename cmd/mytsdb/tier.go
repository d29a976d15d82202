package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/client"

	"mytsdb/storage"
)

// tierConfig is the Parquet tier as the --storage.parquet.* flags ask for
// it, checked before anything starts.
type tierConfig struct {
	enabled        bool
	bucketYAML     []byte
	source         string // the config file, or "embedded default"
	localRetention time.Duration
	retention      time.Duration // 0 = forever
	cacheBytes     int64
	// bucket is built from bucketYAML while the flags are checked, so that
	// a bad config is a startup error before anything starts; openStorage
	// instruments it.
	bucket objstore.Bucket
}

// defaultBucketConfig is the embedded bucket config: a FILESYSTEM bucket
// in <storage.tsdb.path>/bucket/, so that the tier works with no setup.
func defaultBucketConfig(storagePath string) ([]byte, error) {
	dir, err := filepath.Abs(filepath.Join(storagePath, storage.BucketDirName))
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "type: FILESYSTEM\nconfig:\n  directory: %q\n", dir), nil
}

// parseTierConfig reads the flags; tsdbRetention is the effective
// --storage.tsdb.retention.time, which the bucket follows by default.
func parseTierConfig(cfg *flagConfig, tsdbRetention time.Duration, logger *slog.Logger) (tierConfig, error) {
	tc := tierConfig{
		enabled:        cfg.parquetEnabled,
		localRetention: time.Duration(cfg.parquetLocalRetention),
		cacheBytes:     int64(cfg.parquetCacheSize),
	}
	if !tc.enabled {
		return tc, nil
	}
	if tc.localRetention < 0 {
		return tc, fmt.Errorf("--storage.parquet.local-retention=%s: negative", cfg.parquetLocalRetention)
	}
	switch cfg.parquetRetention {
	case "":
		tc.retention = tsdbRetention
	default:
		d, err := model.ParseDuration(cfg.parquetRetention)
		if err != nil {
			return tc, fmt.Errorf("--storage.parquet.retention=%s: %w", cfg.parquetRetention, err)
		}
		tc.retention = time.Duration(d)
	}
	if cfg.parquetBucketConfig == "" {
		b, err := defaultBucketConfig(cfg.storagePath)
		if err != nil {
			return tc, fmt.Errorf("the Parquet tier's default bucket: %w", err)
		}
		tc.bucketYAML, tc.source = b, "embedded default"
	} else {
		b, err := os.ReadFile(cfg.parquetBucketConfig)
		if err != nil {
			return tc, fmt.Errorf("--storage.parquet.bucket-config-file: %w", err)
		}
		tc.bucketYAML, tc.source = b, cfg.parquetBucketConfig
	}
	// objstore's client: every provider Thanos supports. Building one
	// contacts nothing (S3, FILESYSTEM); the first listing happens when
	// the storage opens.
	bkt, err := client.NewBucket(gokitLogger{logger}, tc.bucketYAML, "mytsdb", nil)
	if err != nil {
		return tc, fmt.Errorf("--storage.parquet.bucket-config-file=%s: %w", tc.source, err)
	}
	tc.bucket = bkt
	return tc, nil
}

// instrumentBucket adds objstore's objstore_bucket_*{bucket="parquet"}
// metrics to the tier's bucket.
func instrumentBucket(bkt objstore.Bucket, reg prometheus.Registerer) objstore.Bucket {
	return objstore.WrapWithMetrics(bkt, reg, "parquet")
}

// gokitLogger hands objstore's go-kit log lines to slog.
type gokitLogger struct{ l *slog.Logger }

func (g gokitLogger) Log(keyvals ...any) error {
	lvl, msg := slog.LevelInfo, ""
	args := make([]any, 0, len(keyvals))
	for i := 0; i+1 < len(keyvals); i += 2 {
		k := fmt.Sprint(keyvals[i])
		switch {
		case k == "msg":
			msg = fmt.Sprint(keyvals[i+1])
		case keyvals[i] == level.Key():
			switch strings.ToLower(fmt.Sprint(keyvals[i+1])) {
			case "debug":
				lvl = slog.LevelDebug
			case "warn":
				lvl = slog.LevelWarn
			case "error":
				lvl = slog.LevelError
			}
		default:
			args = append(args, k, keyvals[i+1])
		}
	}
	ctx := context.Background()
	if !g.l.Enabled(ctx, lvl) {
		return nil
	}
	// No caller: the source would be this adapter, not objstore's line.
	r := slog.NewRecord(time.Now(), lvl, msg, 0)
	r.Add(args...)
	return g.l.Handler().Handle(ctx, r)
}
