package wal_test

import (
	"fmt"
	"log"

	"github.com/prometheus/prometheus/model/labels"

	"mytsdb/storage/wal"
)

// A head logs series and samples, then rebuilds itself from the log.
func Example() {
	fs := wal.NewMemFS() // production code leaves FS nil (the OS filesystem)
	w, err := wal.Open(wal.Options{Dir: "/data/default/wal", FS: fs})
	if err != nil {
		log.Fatal(err)
	}
	var buf []byte
	buf = wal.AppendSeriesRecord(buf[:0], []wal.RefSeries{{Ref: 1, Labels: labels.FromStrings("__name__", "up", "job", "node")}})
	if err := w.Log(buf); err != nil { // durable when Log returns (SyncAlways)
		log.Fatal(err)
	}
	buf = wal.AppendSamplesRecord(buf[:0], []wal.RefSample{{Ref: 1, T: 1000, V: 1}, {Ref: 1, T: 2000, V: 0}})
	if err := w.Log(buf); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	w, err = wal.Open(wal.Options{Dir: "/data/default/wal", FS: fs})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	var (
		series  []wal.RefSeries
		samples []wal.RefSample
	)
	stats, err := w.Replay(func(rec []byte) error {
		var err error
		switch wal.TypeOf(rec) {
		case wal.RecordSeries:
			series, err = wal.DecodeSeriesRecord(rec, series[:0])
			for _, s := range series {
				fmt.Println("series", s.Ref, s.Labels)
			}
		case wal.RecordSamples:
			samples, err = wal.DecodeSamplesRecord(rec, samples[:0])
			for _, s := range samples {
				fmt.Println("sample", s.Ref, s.T, s.V)
			}
		}
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d records, corrupted=%v\n", stats.Records, stats.Corrupted)
	// Output:
	// series 1 {__name__="up", job="node"}
	// sample 1 1000 1
	// sample 1 2000 0
	// 2 records, corrupted=false
}
