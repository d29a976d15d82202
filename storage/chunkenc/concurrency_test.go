package chunkenc

import (
	"sync"
	"testing"

	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// An iterator, once returned, may run while the chunk is appended to (the
// upstream contract); it sees the samples present when it was made. Run
// with -race.
func TestIteratorWhileAppending(t *testing.T) {
	ts, vs := kindByName("counter").gen(newRand(3), 1000)
	c := NewFloatChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range ts {
		app.Append(0, ts[i], vs[i])
		if i%100 != 0 {
			continue
		}
		it := c.Iterator(nil)
		n := i + 1
		wg.Go(func() {
			got := 0
			for it.Next() == upstream.ValFloat {
				if tt, v := it.At(); tt != ts[got] || v != vs[got] {
					t.Errorf("iterator of %d samples: sample %d wrong", n, got)
					return
				}
				got++
			}
			if got != n {
				t.Errorf("iterator made at %d samples saw %d", n, got)
			}
		})
	}
	wg.Wait()
}

// Upstream allows appending after Compact; nothing appended before is lost.
func TestAppendAfterCompact(t *testing.T) {
	ts, vs := kindByName("gauge2dec").gen(newRand(4), 300)
	c := NewFloatChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i := range ts {
		app.Append(0, ts[i], vs[i])
		if i%50 == 7 {
			c.Compact()
			if c.NumSamples() != i+1 {
				t.Fatalf("NumSamples %d after Compact, want %d", c.NumSamples(), i+1)
			}
		}
	}
	checkSamples(t, "open", c.Iterator(nil), ts, vs)
	c.Compact()
	checkSamples(t, "sealed", c.Iterator(nil), ts, vs)
}
