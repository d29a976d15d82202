package inflight

import (
	"context"
	"testing"
	"time"
)

func TestWaitBeforeWaitsOnlyForEarlierOperations(t *testing.T) {
	var tr Tracker
	a := tr.Begin()
	b := tr.Begin()
	mark := tr.Mark()
	later := tr.Begin() // Began after the mark: must not delay the waiter.
	done := make(chan error, 1)
	go func() { done <- tr.WaitBefore(context.Background(), mark) }()

	tr.End(a)
	select {
	case err := <-done:
		t.Fatalf("WaitBefore returned (%v) while ticket %d was still open", err, b)
	case <-time.After(20 * time.Millisecond):
	}
	tr.End(b)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitBefore: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("WaitBefore still blocked after every earlier ticket ended (open: %d, later ticket %d)", tr.Open(), later)
	}
	if n := tr.Open(); n != 1 {
		t.Fatalf("open operations = %d, want 1 (the later one)", n)
	}
}

func TestWaitBeforeHonoursContext(t *testing.T) {
	var tr Tracker
	tr.Begin()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := tr.WaitBefore(ctx, tr.Mark()); err != context.DeadlineExceeded {
		t.Fatalf("WaitBefore = %v, want context.DeadlineExceeded", err)
	}
}

func BenchmarkBeginEnd(b *testing.B) {
	var tr Tracker
	b.ReportAllocs()
	for b.Loop() {
		tr.End(tr.Begin())
	}
}
