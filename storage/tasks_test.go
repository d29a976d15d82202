package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// The running-task list: a task is listed from begin to end with its
// progress, oldest first, and a nil list (a Tenant opened without a DB)
// ignores everything.
func TestTaskList(t *testing.T) {
	l := newTaskList()
	a := l.begin(Task{Tenant: "default", Kind: TaskHeadCut, Detail: "a"})
	time.Sleep(time.Millisecond) // distinct start times, for the order
	b := l.begin(Task{Tenant: "t1", Kind: TaskConversion, Detail: "b", Total: 3})
	b.progress(2, 3)
	got := l.list()
	if len(got) != 2 || got[0].Detail != "a" || got[1].Detail != "b" || got[1].Done != 2 || got[1].Total != 3 {
		t.Fatalf("running tasks: %+v", got)
	}
	if got[0].Started.IsZero() || got[1].Started.Before(got[0].Started) {
		t.Fatalf("start times: %v, %v", got[0].Started, got[1].Started)
	}
	a.end()
	a.end()
	b.progress(3, 3) // harmless after another task ended
	if got := l.list(); len(got) != 1 || got[0].Detail != "b" || got[0].Done != 3 {
		t.Fatalf("after one end: %+v", got)
	}
	b.end()
	b.progress(1, 1) // after end: nothing comes back
	if got := l.list(); len(got) != 0 {
		t.Fatalf("after both ended: %+v", got)
	}
	var none *taskList
	none.begin(Task{Kind: TaskUpload}).end()
	if none.list() != nil {
		t.Fatal("nil list lists tasks")
	}
}

// A head cut is listed while it runs: one held back by an appender begun
// before it (a cut waits for those) shows in DB.Tasks with its tenant and
// range until the appender commits, and the list is empty once it is done.
func TestTasksListRunningCut(t *testing.T) {
	db := openBlocksDB(t, t.TempDir(), nil, nil)
	defer db.Close()
	ten := db.Default()
	ctx := context.Background()
	held := ten.Appender(ctx) // begun, so a cut waits for it
	released := false
	release := func() {
		if !released {
			released = true
			if err := held.Commit(); err != nil {
				t.Error(err)
			}
		}
	}
	defer release() // before db.Close on failure: the held cut would block it
	app := ten.Appender(ctx)
	lset := labels.FromStrings("__name__", "cut_me")
	for ts := int64(0); ts <= 2*testRange; ts += 60_000 {
		if _, err := app.Append(0, lset, ts, float64(ts)); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ten.Maintain(ctx) }()
	want := Task{Tenant: DefaultTenant, Kind: TaskHeadCut, Detail: fmt.Sprintf("head range [0, %d)", testRange)}
	waitTasks(t, db, func(ts []Task) bool {
		return len(ts) == 1 && ts[0].Tenant == want.Tenant && ts[0].Kind == want.Kind && ts[0].Detail == want.Detail && !ts[0].Started.IsZero()
	}, "the held cut listed as %+v", want)
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitTasks(t, db, func(ts []Task) bool { return len(ts) == 0 }, "no task once the cut is done")
	if n := len(ten.Blocks()); n == 0 {
		t.Fatal("the cut wrote no block")
	}
}

func waitTasks(t *testing.T, db *DB, ok func([]Task) bool, what string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last []Task
	for time.Now().Before(deadline) {
		if last = db.Tasks(); ok(last) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for "+what+"; tasks: %+v", append(args, last)...)
}
