package block

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"sync"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
)

// Block is an open, immutable on-disk block. It is safe for concurrent use.
type Block struct {
	// Immutable after Open.
	dir    string
	logger *slog.Logger
	index  *indexReader
	chunks *chunkReader

	// deleteMu serialises Delete (which writes files outside mu).
	deleteMu sync.Mutex

	mu struct {
		sync.Mutex
		cond    *sync.Cond // signalled when refs drops to 0
		meta    Meta
		tombs   tombstones // never modified once set: Delete swaps in a new map
		size    int64
		refs    int // open queriers
		closing bool
		closed  bool
	}
}

// Open opens the block in dir: it reads meta.json, checks the CRC of every
// section of the index and of the tombstones, and maps the chunk segment
// files (checking that each has the size the index recorded; a chunk's own
// CRC is checked when the chunk is read). Damage gives an error wrapping
// ErrCorrupt.
func Open(dir string, logger *slog.Logger) (*Block, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if IsTmpDir(filepath.Base(dir)) {
		return nil, fmt.Errorf("block: %s is a block being written, not a block", dir)
	}
	meta, err := readMeta(dir)
	if err != nil {
		return nil, err
	}
	if u, ok := ParseDirName(filepath.Base(dir)); ok && u != meta.ULID {
		return nil, corruptf(filepath.Join(dir, metaFilename), -1, "ULID %s does not match the directory", meta.ULID)
	}
	tombs, err := readTombstones(dir)
	if err != nil {
		return nil, err
	}
	// The tombstones file is the truth: meta.json is rewritten after it, so
	// a crash in between leaves a stale count.
	meta.Stats.NumTombstones = tombs.total()
	ir, err := openIndex(filepath.Join(dir, indexFilename))
	if err != nil {
		return nil, err
	}
	cr, err := openChunks(dir, ir.segSizes)
	if err != nil {
		ir.close()
		return nil, err
	}
	size, err := dirSize(dir)
	if err != nil {
		ir.close()
		cr.close()
		return nil, err
	}
	b := &Block{dir: dir, logger: logger, index: ir, chunks: cr}
	b.mu.cond = sync.NewCond(&b.mu.Mutex)
	b.mu.meta, b.mu.tombs, b.mu.size = meta, tombs, size
	return b, nil
}

// Meta returns the block's meta (with the current tombstone count).
func (b *Block) Meta() Meta {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.mu.meta
	m.Compaction.Sources = append([]ulid.ULID(nil), m.Compaction.Sources...)
	m.Compaction.Parents = append([]BlockDesc(nil), m.Compaction.Parents...)
	return m
}

// Dir is the block's directory.
func (b *Block) Dir() string { return b.dir }

// Size is the size in bytes of the block's files.
func (b *Block) Size() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.size
}

// MinTime is the block's first millisecond (inclusive).
func (b *Block) MinTime() int64 { return b.Meta().MinTime }

// MaxTime is the block's end (exclusive), as in Meta.
func (b *Block) MaxTime() int64 { return b.Meta().MaxTime }

// NumTombstones is the number of deleted intervals, over all series.
func (b *Block) NumTombstones() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.tombs.total()
}

var errClosed = errors.New("block: closed")

// acquire takes a reference for a querier and returns the current
// tombstones.
func (b *Block) acquire() (tombstones, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.closing {
		return nil, errClosed
	}
	b.mu.refs++
	return b.mu.tombs, nil
}

func (b *Block) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mu.refs--
	if b.mu.refs == 0 {
		b.mu.cond.Broadcast()
	}
}

// Close waits until every querier opened from the block is closed, then
// unmaps its files. New queriers fail once Close has started. Close is
// idempotent.
func (b *Block) Close() error {
	b.mu.Lock()
	if b.mu.closing {
		for !b.mu.closed {
			b.mu.cond.Wait()
		}
		b.mu.Unlock()
		return nil
	}
	b.mu.closing = true
	for b.mu.refs > 0 {
		b.mu.cond.Wait()
	}
	b.mu.Unlock()

	err := errors.Join(b.index.close(), b.chunks.close())

	b.mu.Lock()
	b.mu.closed = true
	b.mu.cond.Broadcast()
	b.mu.Unlock()
	return err
}

// Delete adds tombstones for [mint, maxt] (inclusive) to every series that
// ms select and that has a chunk overlapping the range. The tombstones file
// and then meta.json are replaced atomically (tmp, fsync, rename, fsync of
// the directory); queriers opened before keep seeing the old tombstones.
func (b *Block) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	if mint > maxt {
		return fmt.Errorf("block: delete range [%d, %d] is empty", mint, maxt)
	}
	b.deleteMu.Lock()
	defer b.deleteMu.Unlock()
	old, err := b.acquire()
	if err != nil {
		return err
	}
	defer b.release()

	meta := b.Meta()
	iv := Interval{max(mint, meta.MinTime), min(maxt, meta.MaxTime-1)}
	if iv.Mint > iv.Maxt {
		return nil
	}
	refs, err := b.index.postingsForMatchers(ctx, ms...)
	if err != nil {
		return err
	}
	var (
		tombs   = old
		changed bool
		lb      labels.ScratchBuilder
		chks    []chunkMeta
	)
	for i, ref := range refs {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		chks, err = b.index.series(ref, &lb, chks)
		if err != nil {
			return err
		}
		for _, c := range chks {
			if c.mint <= iv.Maxt && iv.Mint <= c.maxt {
				if !tombs[ref].covers(iv.Mint, iv.Maxt) {
					if !changed {
						tombs, changed = maps.Clone(old), true
					}
					tombs[ref] = tombs[ref].Add(iv)
				}
				break
			}
		}
	}
	if !changed {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeFileAtomic(b.dir, tombstonesFilename, encodeTombstones(tombs)); err != nil {
		return err
	}
	meta.Stats.NumTombstones = tombs.total()
	if err := writeMeta(b.dir, &meta); err != nil {
		return err
	}
	size, err := dirSize(b.dir)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.mu.tombs, b.mu.meta, b.mu.size = tombs, meta, size
	b.mu.Unlock()
	return nil
}
