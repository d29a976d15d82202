// Command bench is `make bench`: it runs the same remote-write load against the
// real Prometheus and against mytsdb, alternating, prints one table with both
// figures and their ratio per metric, and appends it to BENCHMARKS.md.
//
//	go run ./compliance/cmd/bench          # full: 200k and 1M series, 2 A/B rounds (~15-30 min)
//	go run ./compliance/cmd/bench -quick   # smoke test, a few minutes
//	go run ./compliance/cmd/bench -only=cuts,disk,history   # the block scenarios only
//
// Binaries: $PROMETHEUS_BINARY (default .cache/ref/<version>/prometheus, `make ref`)
// and $MYTSDB_BINARY (default: go build ./cmd/mytsdb). It owns flag parsing only.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"mytsdb/compliance/bench"
	"mytsdb/compliance/server"
)

func main() {
	quick := flag.Bool("quick", false, "small sizes and one round: a smoke test")
	results := flag.String("results", "", "append the table to this file (default BENCHMARKS.md at the module root; \"-\" for none)")
	repeats := flag.Int("repeats", 0, "A/B rounds (default 2 in full mode, 1 with -quick)")
	senders := flag.Int("senders", 0, "concurrent remote-write senders (default 4)")
	batch := flag.Int("batch", 0, "samples per request (default 2000)")
	mytsdbArgs := flag.String("mytsdb-args", "", "extra flags for mytsdb only, space-separated (e.g. --storage.wal.sync=interval)")
	only := flag.String("only", "", "comma-separated scenario groups to run, of "+strings.Join(bench.ScenarioGroups, ",")+" (default all)")
	blockRepeats := flag.Int("block-repeats", 0, "runs of each block scenario per server (default 1)")
	commit := flag.String("commit", "", "the commit to name in the report (default the work tree's HEAD, +dirty if changed): for a $MYTSDB_BINARY built from a clean checkout")
	flag.Parse()

	cfg := bench.Full()
	if *quick {
		cfg = bench.Quick()
	}
	if *repeats > 0 {
		cfg.Repeats = *repeats
	}
	if *senders > 0 {
		cfg.Senders = *senders
	}
	if *batch > 0 {
		cfg.BatchSize = *batch
	}
	if *blockRepeats > 0 {
		cfg.BlockRepeats = *blockRepeats
	}
	if *only != "" {
		if err := cfg.Only(strings.Split(*only, ",")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		cfg.Mode += " -only=" + *only
	}
	cfg.Commit = *commit
	cfg.MytsdbArgs = strings.Fields(*mytsdbArgs)
	cfg.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	rep.WriteMarkdown(os.Stdout)

	path := *results
	if path == "" {
		root, err := server.ModuleRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		path = filepath.Join(root, "BENCHMARKS.md")
	}
	if path != "-" {
		if err := bench.AppendMarkdown(path, rep); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "appended to", path)
	}
}
