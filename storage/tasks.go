package storage

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"mytsdb/storage/block"
)

// Task is a piece of long work running now in the storage, for the UI's
// status page and /api/v1/status/progress: a head range being written as a
// block, a compaction, the conversion of a Prometheus data directory, an
// upload to the Parquet tier. It says what runs, not how fast:
// the metrics count what finished.
type Task struct {
	// Tenant is the tenant the work is for.
	Tenant string `json:"tenant"`
	// Kind is one of the Task* constants.
	Kind string `json:"kind"`
	// Detail says what is being worked on (a time range, the blocks merged).
	Detail string `json:"detail"`
	// Started is when the work began.
	Started time.Time `json:"started"`
	// Done and Total count steps when the work has steps (parts of the
	// Prometheus data); both are zero otherwise.
	Done  int `json:"done"`
	Total int `json:"total"`
}

// The kinds of Task.
const (
	TaskHeadCut    = "head-cut"   // a head range written as level-1 blocks
	TaskCompaction = "compaction" // blocks merged into one
	TaskConversion = "conversion" // Prometheus's data moved into our blocks
	// TaskUpload is for the Parquet tier: a sealed block written to the
	// bucket and verified (tier_lifecycle.go's uploadLocked).
	TaskUpload = "upload"
)

// taskList holds the running tasks of a DB (shared by its tenants through
// Options). The zero value is not usable; a nil *taskList ignores begin.
type taskList struct {
	mu struct {
		sync.Mutex
		next    uint64
		running map[uint64]*Task
	}
}

func newTaskList() *taskList {
	l := &taskList{}
	l.mu.running = map[uint64]*Task{}
	return l
}

// runningTask is the handle of a begun task.
type runningTask struct {
	l  *taskList
	id uint64
}

// begin records t as running (Started set now) until end is called.
func (l *taskList) begin(t Task) runningTask {
	if l == nil {
		return runningTask{}
	}
	t.Started = time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.next++
	l.mu.running[l.mu.next] = &t
	return runningTask{l: l, id: l.mu.next}
}

// progress updates the steps done of a task with steps.
func (r runningTask) progress(done, total int) {
	if r.l == nil {
		return
	}
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	if t := r.l.mu.running[r.id]; t != nil {
		t.Done, t.Total = done, total
	}
}

// end removes the task; calling it twice is harmless.
func (r runningTask) end() {
	if r.l == nil {
		return
	}
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	delete(r.l.mu.running, r.id)
}

// list returns copies of the running tasks, oldest first.
func (l *taskList) list() []Task {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	out := make([]Task, 0, len(l.mu.running))
	for _, t := range l.mu.running {
		out = append(out, *t)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b Task) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.Tenant+a.Kind+a.Detail, b.Tenant+b.Kind+b.Detail)
	})
	return out
}

// compactionDetail names the blocks a compaction reads, for its Task.
func compactionDetail(bs []*block.Block) string {
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = b.Meta().ULID.String()
	}
	return fmt.Sprintf("%d block(s): %s", len(bs), strings.Join(ids, ", "))
}

// Tasks returns the long work running now (head cuts, compactions, the
// conversion of Prometheus's data), oldest first.
func (db *DB) Tasks() []Task { return db.opts.tasks.list() }
