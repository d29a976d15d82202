// Package parquettier adapts mytsdb/parquetstore to storage.Tier: one
// parquetstore.Store per tenant in one bucket (<tenant>/<ULID>/ objects),
// with the crash points of the tier's upload.
//
// It owns only the translation between the two packages' types (storage
// defines the Tier interface so that it never imports parquetstore, and
// parquetstore never imports storage); the lifecycle (what is uploaded,
// verified, dropped, expired) is storage's, the Parquet format
// parquetstore's, the bucket configuration cmd/mytsdb's.
package parquettier

import (
	"context"
	"io"
	"log/slog"
	"path"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/thanos-io/objstore"

	"mytsdb/parquetstore"
	"mytsdb/storage"
	"mytsdb/storage/crashpoint"
)

// Options configures New.
type Options struct {
	CacheBytes int64 // parquetstore.Options.CacheBytes, per tenant
	Logger     *slog.Logger
}

// New returns the tier over bkt. The bucket is wrapped so that
// crashpoint.TierBeforeMeta is reached before each block's meta.json is
// uploaded (the data objects are in the bucket, the block is not complete).
func New(bkt objstore.Bucket, opts Options) storage.Tier {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return tier{bkt: crashBucket{bkt}, opts: opts}
}

type tier struct {
	bkt  objstore.Bucket
	opts Options
}

func (p tier) Open(ctx context.Context, tenant string, reg prometheus.Registerer) (storage.TierStore, error) {
	var r prometheus.Registerer
	if reg != nil {
		r = lenientRegisterer{reg}
	}
	st, err := parquetstore.Open(ctx, p.bkt, tenant, parquetstore.Options{
		CacheBytes: p.opts.CacheBytes,
		Logger:     p.opts.Logger.With("tenant", tenant),
		Registerer: r,
	})
	if err != nil {
		return nil, err
	}
	return store{Store: st, bkt: p.bkt, tenant: tenant}, nil
}

// store adapts one parquetstore.Store to storage.TierStore.
type store struct {
	*parquetstore.Store
	bkt    objstore.Bucket
	tenant string
}

func toMeta(b storage.TierBlock) parquetstore.BlockMeta {
	return parquetstore.BlockMeta{
		ULID: b.ULID, MinTime: b.MinTime, MaxTime: b.MaxTime, NumSeries: b.NumSeries,
		NumSamples: b.NumSamples, Level: b.Level, Sources: b.Sources, Parents: b.Parents,
	}
}

func (s store) Write(ctx context.Context, b storage.TierBlock, q promstorage.ChunkQuerier) error {
	return parquetstore.Write(ctx, s.bkt, s.tenant, toMeta(b), q)
}

func (s store) Verify(ctx context.Context, b storage.TierBlock, q promstorage.ChunkQuerier) error {
	return parquetstore.Verify(ctx, s.bkt, s.tenant, toMeta(b), q)
}

func (s store) Blocks() []storage.TierBlock {
	ms := s.Store.Blocks()
	out := make([]storage.TierBlock, len(ms))
	for i, m := range ms {
		var size int64
		for _, f := range m.Files {
			size += f.Size
		}
		out[i] = storage.TierBlock{
			ULID: m.ULID, MinTime: m.MinTime, MaxTime: m.MaxTime, NumSeries: m.NumSeries,
			NumSamples: m.NumSamples, Level: m.Level, Sources: m.Sources, Parents: m.Parents, Bytes: size,
		}
	}
	return out
}

func (s store) Delete(ctx context.Context, id ulid.ULID) error { return s.Store.Delete(ctx, id) }

// crashBucket reaches crashpoint.TierBeforeMeta before a meta.json upload.
type crashBucket struct{ objstore.Bucket }

func (b crashBucket) Upload(ctx context.Context, name string, r io.Reader, opts ...objstore.ObjectUploadOption) error {
	if path.Base(name) == parquetstore.MetaFile {
		crashpoint.Reach(crashpoint.TierBeforeMeta)
	}
	return b.Bucket.Upload(ctx, name, r, opts...)
}

// lenientRegisterer registers what it can and never panics: a tenant closed
// and opened again registers its store's metrics a second time.
type lenientRegisterer struct{ prometheus.Registerer }

func (r lenientRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}
