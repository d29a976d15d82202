// Command compliance runs the side-by-side harness: the real prometheus
// beside the candidate (mytsdb by default), the same data written to both,
// every corpus case sent to both and compared exactly. It ends with exactly
// one line "N passed, M failed" and exits 1 if M > 0.
//
//	go run ./compliance/cmd/compliance -full                   # everything, both runs (make compliance)
//	go run ./compliance/cmd/compliance -full -blocks           # the short-block run only
//	go run ./compliance/cmd/compliance -full -blocks=false     # the normal run only
//	go run ./compliance/cmd/compliance -candidate=prometheus   # prove the harness deterministic
//	go run ./compliance/cmd/compliance -full -blocks=false -swap   # the swap run only
//	go run ./compliance/cmd/compliance -full -parquet          # the Parquet run only
//
// The normal run keeps all data in the head. The short-block run
// (compliance.Options.Blocks) starts both servers with 5-minute blocks, writes
// the data in time order so that both cut it into blocks and compact them,
// waits for that layout, then runs the same cases (named "[blocks] ..."). With
// -full both runs are made, one after the other, unless -blocks says which;
// without -full only the normal run is made unless -blocks is given. The
// per-run counts go to stderr, the total is the last line on stdout.
//
// The Parquet run (compliance.Options.Parquet, on by default with -full and
// the mytsdb candidate) is the short-block run with mytsdb's blocks only in
// its Parquet tier (uploaded to the default FILESYSTEM bucket and removed
// locally before the queries; cases named "[parquet] ..."; the block list
// case is left out, see compliance.ParquetCases). -parquet runs it alone,
// -parquet=false leaves it out.
//
// The swap run (compliance.Env.Swap, on by default with -full and the
// mytsdb candidate) has two real Prometheus servers take the data in the
// short-block mode, then starts mytsdb on one's data directory and compares
// it with the other, restarted, before, during and after mytsdb converts
// that directory (cases named "[swap] ...").
//
// Binaries come from PROMETHEUS_BINARY and MYTSDB_BINARY (see package
// compliance/server).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"mytsdb/compliance"
	"mytsdb/compliance/corpus"
)

// optBool is a boolean flag that knows whether it was given.
type optBool struct{ set, val bool }

func (b *optBool) IsBoolFlag() bool { return true }
func (b *optBool) String() string {
	if b == nil || !b.set {
		return "unset"
	}
	return strconv.FormatBool(b.val)
}
func (b *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.val = true, v
	return nil
}

func main() {
	full := flag.Bool("full", false, "run the whole corpus (default: the quick subset go test runs)")
	var blocks optBool
	flag.Var(&blocks, "blocks", "-blocks: only the short-block run; -blocks=false: only the normal run (default: both with -full, the normal run without)")
	candidate := flag.String("candidate", "mytsdb", "the server compared with the reference: mytsdb or prometheus")
	run := flag.String("run", "", "only cases whose line matches this regexp")
	verbose := flag.Bool("v", false, "log progress to stderr")
	dump := flag.String("dump", "", "also write every case with the reference's response to this file (for reviewing the corpus)")
	var parquet optBool
	flag.Var(&parquet, "parquet", "-parquet: only the Parquet run (the short-block run with mytsdb's blocks only in its Parquet tier); -parquet=false: leave it out (default: on with -full and -candidate=mytsdb)")
	var swap optBool
	flag.Var(&swap, "swap", "the swap run: mytsdb started on a real Prometheus's data directory (default: on with -full and -candidate=mytsdb)")
	flag.Parse()
	modes := []mode{normalRun}
	switch {
	case blocks.set && blocks.val:
		modes = []mode{blocksRun}
	case !blocks.set && *full:
		modes = []mode{normalRun, blocksRun}
	}
	doSwap := *full && *candidate == "mytsdb"
	if swap.set {
		doSwap = swap.val
	}
	if blocks.set && !blocks.val && swap.set && swap.val {
		modes = nil // -blocks=false -swap: documented as the swap run only
	}
	switch {
	case parquet.set && parquet.val:
		modes, doSwap = []mode{parquetRun}, false
	case !parquet.set && *full && *candidate == "mytsdb" && !blocks.set:
		modes = append(modes, parquetRun)
	}
	os.Exit(mainErr(*full, modes, doSwap, *candidate, *run, *verbose, *dump))
}

// mode is one run over freshly started servers.
type mode struct {
	label, prefix   string
	blocks, parquet bool
}

var (
	normalRun  = mode{label: "normal run"}
	blocksRun  = mode{label: "short-block run", prefix: "[blocks] ", blocks: true}
	parquetRun = mode{label: "Parquet run", prefix: "[parquet] ", blocks: true, parquet: true}
)

func mainErr(full bool, modes []mode, swap bool, candidate, run string, verbose bool, dump string) int {
	start := time.Now()
	logf := func(format string, args ...any) {
		if verbose {
			fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
		}
	}
	cases, err := compliance.LoadCorpus()
	if err != nil {
		return fatal(err)
	}
	if !full {
		cases = compliance.Quick(cases)
	}
	if run != "" {
		re, err := regexp.Compile(run)
		if err != nil {
			return fatal(err)
		}
		var sel []corpus.Case
		for _, c := range cases {
			if re.MatchString(c.Text) {
				sel = append(sel, c)
			}
		}
		cases = sel
	}
	// The servers run in their own process groups: stop them on Ctrl-C too.
	var mu sync.Mutex
	var current *compliance.Env
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		mu.Lock()
		if current != nil {
			current.Close()
		}
		fmt.Println("0 passed, 1 failed")
		os.Exit(1)
	}()
	var outs []compliance.Outcome
	for _, m := range modes {
		env, err := compliance.Start(context.Background(), compliance.Options{Candidate: candidate, Blocks: m.blocks, Parquet: m.parquet, Logf: logf})
		if err != nil {
			return fatal(err)
		}
		mu.Lock()
		current = env
		mu.Unlock()
		mcases := cases
		if m.parquet {
			mcases = compliance.ParquetCases(cases)
		}
		o, err := runMode(env, mcases, candidate, logf)
		mu.Lock()
		env.Close()
		current = nil
		mu.Unlock()
		if err != nil {
			return fatal(err)
		}
		for i := range o {
			o[i].Name = m.prefix + o[i].Name
		}
		if len(modes) > 1 {
			fmt.Fprintf(os.Stderr, "%s: %d cases, %d failed\n", m.label, len(o), len(compliance.Failures(o)))
		}
		outs = append(outs, o...)
	}
	if swap {
		env, err := compliance.Start(context.Background(), compliance.Options{Candidate: "prometheus", Blocks: true, Logf: logf})
		if err != nil {
			return fatal(err)
		}
		mu.Lock()
		current = env
		mu.Unlock()
		o, err := env.Load(context.Background(), env.Ref.URL, env.Cand.URL)
		if err == nil {
			var so []compliance.Outcome
			so, err = env.Swap(context.Background(), cases, 5*time.Minute)
			o = append(o, so...)
		}
		mu.Lock()
		env.Close()
		current = nil
		mu.Unlock()
		if err != nil {
			return fatal(err)
		}
		for i := range o {
			o[i].Name = "[swap] " + o[i].Name
		}
		fmt.Fprintf(os.Stderr, "swap run: %d cases, %d failed\n", len(o), len(compliance.Failures(o)))
		outs = append(outs, o...)
	}
	if dump != "" {
		var b strings.Builder
		for _, o := range outs {
			fmt.Fprintf(&b, "=== %s\n%s\n", o.Name, o.Result.Ref)
		}
		if err := os.WriteFile(dump, []byte(b.String()), 0o644); err != nil {
			return fatal(err)
		}
	}
	if compliance.Report(os.Stdout, outs) > 0 {
		return 1
	}
	return 0
}

// runMode loads the data into a started Env and runs the cases.
func runMode(env *compliance.Env, cases []corpus.Case, candidate string, logf func(string, ...any)) ([]compliance.Outcome, error) {
	ctx := context.Background()
	outs, err := env.Load(ctx, env.Ref.URL, env.Cand.URL)
	if err != nil {
		return nil, err
	}
	outs = append(outs, compliance.RunCasesMode(ctx, env.Ref.URL, env.Cand.URL, env.Base, cases, env.Blocks)...)
	outs = append(outs, env.Fresh(ctx, env.Ref.URL, env.Cand.URL)...)
	outs = append(outs, env.RemoteRead(ctx, env.Ref.URL, env.Cand.URL)...)
	outs = append(outs, env.Rules(ctx, env.Ref.URL, env.Cand.URL)...)
	if candidate == "mytsdb" {
		outs = append(outs, compliance.CheckVersion(ctx, env.Cand.URL))
	}
	logf("compared %d cases", len(outs))
	return outs, nil
}

func fatal(err error) int {
	fmt.Fprintln(os.Stderr, "compliance:", err)
	fmt.Println("0 passed, 1 failed")
	return 1
}
