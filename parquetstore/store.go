package parquetstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
	"github.com/thanos-io/objstore"
)

// DefaultCacheBytes is the read cache's size when Options.CacheBytes is 0.
const DefaultCacheBytes = 256 << 20

// Options configure a Store.
type Options struct {
	// CacheBytes bounds the cache of object pieces, footers and series
	// tables; 0 means DefaultCacheBytes.
	CacheBytes int64
	Logger     *slog.Logger
	// Registerer takes the Store's metrics (mytsdb_parquet_*) as they are:
	// a caller with several tenants labels them (mytsdb's tenants register
	// through a registerer that adds tenant=<id>, as every per-tenant
	// metric of the storage). Nil registers none.
	Registerer prometheus.Registerer
}

// Store is one tenant's Parquet blocks in a bucket.
type Store struct {
	bkt    objstore.Bucket
	tenant string
	logger *slog.Logger
	cache  *cache
	m      *metrics

	mu struct {
		sync.RWMutex
		blocks   []*block // sorted by MinTime, then ULID
		replaced []ulid.ULID
		closed   bool
	}
}

// Open lists <tenant>/ in bkt and returns a Store of its complete blocks
// (those with a readable meta.json). A block whose meta.json cannot be
// decoded is logged and left out.
func Open(ctx context.Context, bkt objstore.Bucket, tenant string, opts Options) (*Store, error) {
	if err := validTenant(tenant); err != nil {
		return nil, fmt.Errorf("parquetstore: %w", err)
	}
	if opts.CacheBytes < 0 {
		return nil, fmt.Errorf("parquetstore: negative cache size %d", opts.CacheBytes)
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := newMetrics(opts.Registerer)
	s := &Store{bkt: bkt, tenant: tenant, logger: opts.Logger, cache: newCache(opts.CacheBytes, m), m: m}
	if err := s.Sync(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Sync re-lists <tenant>/: blocks that appeared are added, blocks whose
// meta.json is gone are dropped (with what the cache holds of them).
func (s *Store) Sync(ctx context.Context) error {
	complete, err := s.listComplete(ctx)
	if err != nil {
		return err
	}
	s.mu.RLock()
	known := map[ulid.ULID]*block{}
	for _, b := range s.mu.blocks {
		known[b.meta.ULID] = b
	}
	s.mu.RUnlock()

	var blocks []*block
	for id := range complete {
		if b, ok := known[id]; ok {
			blocks = append(blocks, b)
			continue
		}
		meta, err := s.readMeta(ctx, id)
		if err != nil {
			if errors.As(err, new(errNotFound)) {
				continue // deleted since the listing
			}
			if errors.Is(err, ErrCorrupt) {
				s.logger.Warn("Parquet block with a damaged meta.json left out", "tenant", s.tenant, "block", id, "err", err)
				continue
			}
			return err
		}
		blocks = append(blocks, &block{meta: meta, tenant: s.tenant, bkt: s.bkt, cache: s.cache, m: s.m})
	}
	// A block that a complete block names as its parent is replaced: a
	// rewrite finished writing its successor, perhaps not deleting it.
	parents := map[ulid.ULID]bool{}
	for _, b := range blocks {
		for _, p := range b.meta.Parents {
			parents[p] = true
		}
	}
	var replaced []ulid.ULID
	blocks = slices.DeleteFunc(blocks, func(b *block) bool {
		if parents[b.meta.ULID] {
			replaced = append(replaced, b.meta.ULID)
			return true
		}
		return false
	})
	slices.SortFunc(replaced, func(a, b ulid.ULID) int { return a.Compare(b) })
	sort.Slice(blocks, func(i, j int) bool {
		a, b := blocks[i].meta, blocks[j].meta
		if a.MinTime != b.MinTime {
			return a.MinTime < b.MinTime
		}
		return a.ULID.Compare(b.ULID) < 0
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return errors.New("parquetstore: store closed")
	}
	keep := map[ulid.ULID]bool{}
	for _, b := range blocks {
		keep[b.meta.ULID] = true
	}
	for _, b := range s.mu.blocks {
		if !keep[b.meta.ULID] {
			s.cache.dropPrefix(blockDir(s.tenant, b.meta.ULID) + "/")
		}
	}
	s.mu.blocks = blocks
	s.mu.replaced = replaced
	s.m.blocks.Set(float64(len(blocks)))
	return nil
}

// Replaced returns the complete blocks that another complete block
// replaces (names as a parent): invisible to Blocks and the queriers since
// the last Sync, to be deleted by the caller.
func (s *Store) Replaced() []ulid.ULID {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.mu.replaced)
}

// listComplete returns the blocks of the tenant that have a meta.json.
// With a recursive listing (every provider of objstore has one) that is
// one listing of <tenant>/, however many blocks there are; otherwise the
// block folders are listed and each one's meta.json checked.
func (s *Store) listComplete(ctx context.Context) (map[ulid.ULID]bool, error) {
	out := map[ulid.ULID]bool{}
	prefix := s.tenant + "/"
	if slices.Contains(s.bkt.SupportedIterOptions(), objstore.Recursive) {
		err := s.bkt.Iter(ctx, prefix, func(name string) error {
			dir, file := path.Split(strings.TrimPrefix(name, prefix))
			if file != MetaFile {
				return nil
			}
			if id, err := ulid.ParseStrict(strings.TrimSuffix(dir, "/")); err == nil {
				out[id] = true
			}
			return nil
		}, objstore.WithRecursiveIter())
		if err != nil {
			return nil, fmt.Errorf("parquetstore: list %s: %w", prefix, err)
		}
		return out, nil
	}
	var ids []ulid.ULID
	err := s.bkt.Iter(ctx, prefix, func(name string) error {
		base := path.Base(strings.TrimSuffix(name, "/"))
		if id, err := ulid.ParseStrict(base); err == nil && strings.HasSuffix(name, "/") {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parquetstore: list %s: %w", prefix, err)
	}
	for _, id := range ids {
		ok, err := s.bkt.Exists(ctx, objectName(s.tenant, id, MetaFile))
		if err != nil {
			return nil, fmt.Errorf("parquetstore: %w", err)
		}
		if ok {
			out[id] = true
		}
	}
	return out, nil
}

// errNotFound wraps the bucket's not-found error so that Sync can tell an
// incomplete block from a failing bucket.
type errNotFound struct{ err error }

func (e errNotFound) Error() string { return e.err.Error() }
func (e errNotFound) Unwrap() error { return e.err }

func (s *Store) readMeta(ctx context.Context, id ulid.ULID) (BlockMeta, error) {
	name := objectName(s.tenant, id, MetaFile)
	rc, err := s.bkt.Get(ctx, name)
	if err != nil {
		if s.bkt.IsObjNotFoundErr(err) {
			return BlockMeta{}, errNotFound{err}
		}
		return BlockMeta{}, fmt.Errorf("parquetstore: get %s: %w", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return BlockMeta{}, fmt.Errorf("parquetstore: read %s: %w", name, err)
	}
	m, err := decodeMeta(name, b)
	if err != nil {
		return BlockMeta{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if m.ULID != id {
		return BlockMeta{}, fmt.Errorf("parquetstore: %s: %w: names block %s", name, ErrCorrupt, m.ULID)
	}
	return m, nil
}

// Blocks returns the metas of the Store's blocks, sorted by MinTime.
func (s *Store) Blocks() []BlockMeta {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]BlockMeta, len(s.mu.blocks))
	for i, b := range s.mu.blocks {
		out[i] = b.meta
	}
	return out
}

// overlapping returns the blocks with data in [mint, maxt].
func (s *Store) overlapping(mint, maxt int64) ([]*block, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mu.closed {
		return nil, errors.New("parquetstore: store closed")
	}
	var out []*block
	for _, b := range s.mu.blocks {
		if b.meta.MinTime <= maxt && b.meta.MaxTime > mint {
			out = append(out, b)
		}
	}
	return out, nil
}

// Querier returns a querier over the blocks overlapping [mint, maxt].
func (s *Store) Querier(mint, maxt int64) (storage.Querier, error) {
	blocks, err := s.overlapping(mint, maxt)
	if err != nil {
		return nil, err
	}
	qs := make([]storage.Querier, 0, len(blocks))
	for _, b := range blocks {
		qs = append(qs, sampleQuerier{&blockQuerier{b: b, mint: mint, maxt: maxt, s: s}})
	}
	if len(qs) == 1 {
		return qs[0], nil
	}
	return storage.NewMergeQuerier(qs, nil, storage.ChainedSeriesMerge), nil
}

// BlockChunkQuerier returns a chunk querier over block id alone (its
// whole range), whose native histogram chunks are those of the block's
// source. As every querier of the store, an unreadable part of the block
// is a warning of the series set, not an error.
func (s *Store) BlockChunkQuerier(id ulid.ULID) (storage.ChunkQuerier, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mu.closed {
		return nil, errors.New("parquetstore: store closed")
	}
	for _, b := range s.mu.blocks {
		if b.meta.ULID == id {
			return chunkQuerier{&blockQuerier{b: b, mint: b.meta.MinTime, maxt: b.meta.MaxTime - 1, s: s}}, nil
		}
	}
	return nil, fmt.Errorf("parquetstore: block %s/%s: %w", s.tenant, id, ErrNotListed)
}

// ChunkQuerier returns a chunk querier over the blocks overlapping
// [mint, maxt].
func (s *Store) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	blocks, err := s.overlapping(mint, maxt)
	if err != nil {
		return nil, err
	}
	qs := make([]storage.ChunkQuerier, 0, len(blocks))
	for _, b := range blocks {
		qs = append(qs, chunkQuerier{&blockQuerier{b: b, mint: mint, maxt: maxt, s: s}})
	}
	if len(qs) == 1 {
		return qs[0], nil
	}
	return storage.NewMergeChunkQuerier(qs, nil, storage.NewCompactingChunkSeriesMerger(storage.ChainedSeriesMerge)), nil
}

// Delete removes a block: meta.json first (from then on the block is
// incomplete, so invisible), then the data objects.
func (s *Store) Delete(ctx context.Context, id ulid.ULID) error {
	if err := deleteBlock(ctx, s.bkt, s.tenant, id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	blocks := s.mu.blocks[:0:0]
	for _, b := range s.mu.blocks {
		if b.meta.ULID != id {
			blocks = append(blocks, b)
		}
	}
	s.mu.blocks = blocks
	s.mu.replaced = slices.DeleteFunc(s.mu.replaced, func(r ulid.ULID) bool { return r == id })
	s.m.blocks.Set(float64(len(blocks)))
	s.cache.dropPrefix(blockDir(s.tenant, id) + "/")
	return nil
}

func deleteBlock(ctx context.Context, bkt objstore.Bucket, tenant string, id ulid.ULID) error {
	meta := objectName(tenant, id, MetaFile)
	if err := bkt.Delete(ctx, meta); err != nil && !bkt.IsObjNotFoundErr(err) {
		return fmt.Errorf("parquetstore: delete %s: %w", meta, err)
	}
	var names []string
	err := bkt.Iter(ctx, blockDir(tenant, id)+"/", func(name string) error {
		if !strings.HasSuffix(name, "/") {
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("parquetstore: list %s: %w", blockDir(tenant, id), err)
	}
	for _, n := range names {
		if err := bkt.Delete(ctx, n); err != nil && !bkt.IsObjNotFoundErr(err) {
			return fmt.Errorf("parquetstore: delete %s: %w", n, err)
		}
	}
	return nil
}

// Close forgets the blocks and empties the cache; the bucket is the
// caller's to close.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.closed = true
	s.mu.blocks = nil
	s.cache.dropPrefix("")
	return nil
}
