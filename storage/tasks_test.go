package storage

import (
	"testing"
	"time"
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
