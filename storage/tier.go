package storage

import (
	"context"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	promstorage "github.com/prometheus/prometheus/storage"
)

// Tier is the object-storage tier behind the local blocks: sealed blocks
// are copied there, verified, and then dropped locally once older than
// Options.TierLocalRetention. It is defined here, not in parquetstore, so
// that storage never imports the package that implements it: cmd/mytsdb
// wires mytsdb/parquetstore in (an adapter per tenant over one bucket).
type Tier interface {
	// Open returns the store of one tenant's blocks in the bucket. It may
	// fail while the bucket is unreachable; the tenant opens anyway and
	// Open is tried again every maintenance round.
	// reg is the tenant's registerer (its metrics carry the tenant label
	// unless it is the default tenant); the store may register its own
	// metrics there and must tolerate a tenant opened twice in a process.
	Open(ctx context.Context, tenant string, reg prometheus.Registerer) (TierStore, error)
}

// TierBlock describes one block of the tier, as its meta.json in the
// bucket says (MaxTime exclusive, as our block metas).
type TierBlock struct {
	ULID       ulid.ULID
	MinTime    int64
	MaxTime    int64
	NumSeries  uint64
	NumSamples uint64
	Level      int
	Sources    []ulid.ULID
	// Parents are the tier blocks this one replaces (a rewrite without
	// deleted series); a store hides them once this block is complete.
	Parents []ulid.ULID
	// Bytes is the size of the block's objects in the bucket (0 when the
	// store does not know it).
	Bytes int64
}

// TierStore is one tenant's blocks in the tier (parquetstore.Store behind
// an adapter). Its queriers follow the upstream querier contract; an
// unreadable block is reported as a warning, never a failure.
type TierStore interface {
	// Write copies every series of q over [b.MinTime, b.MaxTime) into the
	// bucket as block b. Idempotent: rerunning it after a crash overwrites
	// what the crash left; a block is complete once listed by Blocks.
	Write(ctx context.Context, b TierBlock, q promstorage.ChunkQuerier) error
	// Verify reads block b back from the bucket and compares it with q
	// series by series, sample by sample.
	Verify(ctx context.Context, b TierBlock, q promstorage.ChunkQuerier) error
	// Sync lists the bucket again (blocks written or deleted elsewhere).
	Sync(ctx context.Context) error
	// Blocks returns the complete blocks, sorted by MinTime.
	Blocks() []TierBlock
	Querier(mint, maxt int64) (promstorage.Querier, error)
	ChunkQuerier(mint, maxt int64) (promstorage.ChunkQuerier, error)
	// BlockChunkQuerier reads one listed block alone, over its whole
	// range, its chunks those the block was written from where it can.
	BlockChunkQuerier(id ulid.ULID) (promstorage.ChunkQuerier, error)
	// Replaced lists the blocks another complete block names as parents:
	// hidden from Blocks and the queriers, left for Delete.
	Replaced() []ulid.ULID
	// Delete removes a block: its meta.json first (it stops being listed),
	// then its data objects.
	Delete(ctx context.Context, id ulid.ULID) error
	Close() error
}

// DefaultTierLocalRetention is how long, by default, blocks stay on the
// local disk (measured back from the newest local block's end, as
// Prometheus measures retention) once they are in the tier.
const DefaultTierLocalRetention = 24 * time.Hour

// tierOpenTimeout bounds the first listing of a tenant's tier at open.
const tierOpenTimeout = 10 * time.Second

// tierRetryMax caps the pause between two tries of a failed tier step.
const tierRetryMax = 10 * time.Minute
