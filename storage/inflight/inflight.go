// Package inflight tracks operations in flight (appender transactions,
// queriers) so that a writer can wait for every one that began before a
// point: the head waits for appenders that may still commit samples into a
// range it is about to cut into a block, and a tenant waits for queriers that
// may still read head data it is about to drop.
//
// It owns only that bookkeeping; it knows nothing of what the operations are.
//
// Caveats:
//   - Every Begin must be paired with exactly one End of the same ticket.
//   - WaitBefore waits only for operations that began before its mark; an
//     operation that began later never delays it, so it cannot starve.
package inflight

import (
	"context"
	"sync"
)

// Ticket identifies one operation in flight.
type Ticket uint64

// Tracker is a set of operations in flight. The zero value is ready to use.
type Tracker struct {
	mu   sync.Mutex
	next Ticket
	open map[Ticket]struct{}
	// changed is closed and replaced whenever an operation ends while a
	// waiter is present.
	changed chan struct{}
}

// Begin registers an operation and returns its ticket.
func (t *Tracker) Begin() Ticket {
	t.mu.Lock()
	t.next++
	id := t.next
	if t.open == nil {
		t.open = map[Ticket]struct{}{}
	}
	t.open[id] = struct{}{}
	t.mu.Unlock()
	return id
}

// End marks the operation of ticket id finished.
func (t *Tracker) End(id Ticket) {
	t.mu.Lock()
	delete(t.open, id)
	if t.changed != nil {
		close(t.changed)
		t.changed = nil
	}
	t.mu.Unlock()
}

// Mark returns a mark: every operation that began before the call has a
// ticket ≤ the mark.
func (t *Tracker) Mark() Ticket {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.next
}

// Open returns the number of operations in flight.
func (t *Tracker) Open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.open)
}

// WaitBefore blocks until every operation with a ticket ≤ mark has ended, or
// ctx is done.
func (t *Tracker) WaitBefore(ctx context.Context, mark Ticket) error {
	for {
		t.mu.Lock()
		pending := false
		for id := range t.open {
			if id <= mark {
				pending = true
				break
			}
		}
		if !pending {
			t.mu.Unlock()
			return nil
		}
		if t.changed == nil {
			t.changed = make(chan struct{})
		}
		ch := t.changed
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
