package storage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/oklog/ulid/v2"
)

// DefaultTenant receives scraped and rule data, and requests without X-Scope-OrgID.
const DefaultTenant = "default"

// MaxTenantIDLength is the longest tenant ID accepted, in bytes.
const MaxTenantIDLength = 150

// ErrInvalidTenantID is wrapped by every ValidateTenantID error.
var ErrInvalidTenantID = errors.New("invalid tenant ID")

// prometheusEntries are the fixed names Prometheus's own TSDB keeps directly
// under --storage.tsdb.path. Users replacing Prometheus start mytsdb on the
// same path, so a tenant must never be named like one of them: a tenant
// "wal" would write mytsdb's WAL into Prometheus's WAL directory.
var prometheusEntries = []string{"wal", "chunks_head", "wbl", "snapshots", "lock", "queries.active"}

// BucketDirName is the directory under the data directory that holds the
// Parquet tier's default FILESYSTEM bucket (cmd/mytsdb's embedded bucket
// config): reserved, so that no tenant is opened on it.
const BucketDirName = "bucket"

// chunkSnapshotPrefix starts Prometheus's head chunk snapshot directories
// (chunk_snapshot.<segment>.<offset>), which Prometheus deletes when older
// than its newest snapshot.
const chunkSnapshotPrefix = "chunk_snapshot."

// ValidateTenantID accepts IDs of 1 to 150 bytes of [A-Za-z0-9_.-], except
// "." and "..": exactly the names that are a single safe path element. It
// also rejects the names of Prometheus's own TSDB entries (see
// isPrometheusEntry), so that no tenant directory can collide with them.
func ValidateTenantID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidTenantID)
	case len(id) > MaxTenantIDLength:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidTenantID, MaxTenantIDLength)
	case id == "." || id == "..":
		return fmt.Errorf("%w: %q", ErrInvalidTenantID, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%w: byte %#x at %d (allowed: A-Z a-z 0-9 _ . -)", ErrInvalidTenantID, c, i)
		}
	}
	if isPrometheusEntry(id) {
		return fmt.Errorf("%w: %q is reserved: Prometheus's TSDB uses that name in the data directory", ErrInvalidTenantID, id)
	}
	if strings.EqualFold(id, BucketDirName) {
		return fmt.Errorf("%w: %q is reserved: the Parquet tier's default bucket uses that name in the data directory", ErrInvalidTenantID, id)
	}
	return nil
}

// isPrometheusEntry reports whether name, an entry directly under the data
// directory, is one Prometheus's TSDB creates there: wal, chunks_head, wbl,
// snapshots, lock, queries.active, a block (a ULID), a block being created
// or deleted (<ULID>.tmp-for-creation, <ULID>.tmp-for-deletion, <ULID>.tmp)
// or a head chunk snapshot (chunk_snapshot.*). Names compare
// case-insensitively, because Prometheus parses ULIDs case-insensitively and
// a case-insensitive file system would map "WAL" onto "wal".
func isPrometheusEntry(name string) bool {
	for _, p := range prometheusEntries {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	if len(name) >= len(chunkSnapshotPrefix) && strings.EqualFold(name[:len(chunkSnapshotPrefix)], chunkSnapshotPrefix) {
		return true
	}
	if len(name) < ulidLen || !isULID(name[:ulidLen]) {
		return false
	}
	return len(name) == ulidLen || name[ulidLen] == '.'
}

// ulidLen is the length of a text-encoded ULID, the name of a block directory.
const ulidLen = 26

// isULID reports whether s names a block as Prometheus's block discovery
// takes it: with the parser it uses (ulid.ParseStrict, either case).
func isULID(s string) bool {
	_, err := ulid.ParseStrict(s)
	return err == nil
}
