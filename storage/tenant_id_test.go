package storage

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateTenantID(t *testing.T) {
	good := []string{"default", "a", "A-b_c.d", "..a", "a..", ".x", strings.Repeat("x", 150), "0"}
	for _, id := range good {
		if err := ValidateTenantID(id); err != nil {
			t.Errorf("ValidateTenantID(%q) = %v, want nil", id, err)
		}
	}
	bad := []string{"", ".", "..", "a/b", "../x", "/abs", "a\\b", strings.Repeat("x", 151), "ä", "a b", "a\x00", "tenant:1"}
	for _, id := range bad {
		if err := ValidateTenantID(id); !errors.Is(err, ErrInvalidTenantID) {
			t.Errorf("ValidateTenantID(%q) = %v, want ErrInvalidTenantID", id, err)
		}
	}
}

// TestValidateTenantIDReservesPrometheusNames: no tenant may be named like an
// entry of Prometheus's TSDB in the data directory, in any case, while names
// that only resemble one stay valid.
func TestValidateTenantIDReservesPrometheusNames(t *testing.T) {
	const ulid = "01JGXYZ8T5ZKQ4M3W9V6N2B7CD" // 26 characters of Crockford base32
	reserved := []string{
		"wal", "chunks_head", "wbl", "snapshots", "lock", "queries.active",
		"WAL", "Chunks_Head", "QUERIES.ACTIVE",
		ulid, strings.ToLower(ulid), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "00000000000000000000000000",
		ulid + ".tmp-for-creation", ulid + ".tmp-for-deletion", ulid + ".tmp",
		"chunk_snapshot.000001.0000000000", "chunk_snapshot.000001.0000000000.tmp",
		"bucket", "Bucket", // the Parquet tier's default bucket
	}
	for _, id := range reserved {
		err := ValidateTenantID(id)
		if !errors.Is(err, ErrInvalidTenantID) || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("ValidateTenantID(%q) = %v, want ErrInvalidTenantID naming it reserved", id, err)
		}
	}
	allowed := []string{
		"wal2", "wal_", "wals", "a-wal", "chunks", "chunks_head2", "snapshot", "locks", "queries",
		"chunk_snapshot", "chunk-snapshot.1",
		// Almost ULIDs: too short, too long without a dot, followed by
		// something other than a dot, or holding U, I, L or O, which
		// Crockford's alphabet leaves out.
		ulid[:25], ulid + "X", ulid + "-x",
		ulid[:25] + "U", ulid[:25] + "i", "L" + ulid[1:], ulid[:10] + "O" + ulid[11:],
		ulid[:12] + "_" + ulid[13:],
	}
	for _, id := range allowed {
		if err := ValidateTenantID(id); err != nil {
			t.Errorf("ValidateTenantID(%q) = %v, want nil", id, err)
		}
	}
}

// FuzzValidateTenantID checks that no accepted ID escapes the data directory:
// it must be exactly one path element directly under it.
func FuzzValidateTenantID(f *testing.F) {
	for _, s := range []string{"default", ".", "..", "a/b", "../x", "ä", "...", "a\x00b", strings.Repeat("y", 151)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidateTenantID(id) != nil {
			return
		}
		const dir = "/data/dir"
		p := filepath.Join(dir, id)
		if filepath.Dir(p) != dir || filepath.Base(p) != id || id == "." || id == ".." || len(id) > MaxTenantIDLength || len(id) == 0 {
			t.Fatalf("accepted tenant ID %q escapes or is not one element: %s", id, p)
		}
		for _, c := range []byte(id) {
			if c == '/' || c == '\\' || c == 0 || c >= 0x80 {
				t.Fatalf("accepted tenant ID %q holds byte %#x", id, c)
			}
		}
	})
}
