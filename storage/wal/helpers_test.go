package wal

import (
	"bytes"
	"fmt"
	dto "github.com/prometheus/client_model/go"
	"testing"
)

// openWAL opens a WAL and closes it at the end of the test.
func openWAL(t testing.TB, o Options) *WAL {
	t.Helper()
	w, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// replayAll replays w and returns copies of the records.
func replayAll(t testing.TB, w *WAL) ([][]byte, ReplayStats) {
	t.Helper()
	var recs [][]byte
	st, err := w.Replay(func(rec []byte) error {
		recs = append(recs, bytes.Clone(rec))
		return nil
	})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if st.Records != len(recs) {
		t.Fatalf("stats say %d records, fn saw %d", st.Records, len(recs))
	}
	return recs, st
}

func sameRecords(got, want [][]byte) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			return fmt.Errorf("record %d: got %q, want %q", i, trunc(got[i]), trunc(want[i]))
		}
	}
	return nil
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// testRecord is a recognisable record of the given size.
func testRecord(i, size int) []byte {
	b := fmt.Appendf(nil, "rec-%06d-", i)
	for len(b) < size {
		b = append(b, byte('a'+(i+len(b))%26))
	}
	return b[:max(size, 0)]
}

func counterValue(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
