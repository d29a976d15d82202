// Package crashpoint kills the process at a named point of the storage's
// multi-step file operations (a block cut, a compaction, a retention delete,
// a tombstone clean, a snapshot) when the environment asks for it, so that
// the SIGKILL tests of the real binary can stop it exactly between two steps
// and check that a restart finds the old or the new state, never a half one.
//
// MYTSDB_CRASH_AT=name[,name...] arms the points; the first one reached
// sends SIGKILL to the process itself. Unset (always, outside those tests),
// Reach is one load of a nil map. It owns nothing else and knows nothing of
// what the points guard.
package crashpoint

import (
	"os"
	"strings"
	"syscall"
)

// EnvVar names the environment variable that arms the points.
const EnvVar = "MYTSDB_CRASH_AT"

// The points, in the order their operations reach them.
const (
	CutWritten          = "cut-written"          // a cut's block renamed into place, the head not yet truncated
	CompactWritten      = "compact-written"      // a compaction's block in place, its parents all still there
	CompactParentGone   = "compact-parent-gone"  // the first parent of a compaction deleted, the others not
	RetentionRenamed    = "retention-renamed"    // an expired block renamed for deletion, not yet removed
	TombstonesRewritten = "tombstones-rewritten" // a block rewritten without tombstones, the old one still there
	SnapshotPartial     = "snapshot-partial"     // a snapshot holding its first block only
	DeleteBlocksDone    = "delete-blocks-done"   // delete_series applied to the blocks, not yet to the head
	HistoryConverted    = "history-converted"    // a part of the Prometheus data written and verified as our block, its files not yet removed
	TierBeforeMeta      = "tier-before-meta"     // a block's Parquet data objects in the bucket, its meta.json not yet
	TierWritten         = "tier-written"         // a block's meta.json in the bucket (complete), not yet verified
	TierVerified        = "tier-verified"        // the bucket's copies verified, the local blocks not yet removed
	TierDropped         = "tier-dropped"         // the local copies of verified blocks removed
)

var armed = parse(os.Getenv(EnvVar))

func parse(v string) map[string]bool {
	if v == "" {
		return nil
	}
	m := map[string]bool{}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			m[p] = true
		}
	}
	return m
}

// Reach kills the process if point is armed.
func Reach(point string) {
	if armed == nil || !armed[point] {
		return
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // The signal is on its way; take no further step.
}
