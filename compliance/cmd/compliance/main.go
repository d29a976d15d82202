// Command compliance runs the side-by-side harness: the real prometheus
// beside the candidate (mytsdb by default), the same data written to both,
// every corpus case sent to both and compared exactly. It ends with exactly
// one line "N passed, M failed" and exits 1 if M > 0.
//
//	go run ./compliance/cmd/compliance -full                   # everything (make compliance)
//	go run ./compliance/cmd/compliance -candidate=prometheus   # prove the harness deterministic
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
	"strings"
	"syscall"
	"time"

	"mytsdb/compliance"
	"mytsdb/compliance/corpus"
)

func main() {
	full := flag.Bool("full", false, "run the whole corpus (default: the quick subset go test runs)")
	candidate := flag.String("candidate", "mytsdb", "the server compared with the reference: mytsdb or prometheus")
	run := flag.String("run", "", "only cases whose line matches this regexp")
	verbose := flag.Bool("v", false, "log progress to stderr")
	dump := flag.String("dump", "", "also write every case with the reference's response to this file (for reviewing the corpus)")
	flag.Parse()
	os.Exit(mainErr(*full, *candidate, *run, *verbose, *dump))
}

func mainErr(full bool, candidate, run string, verbose bool, dump string) int {
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
	ctx := context.Background()
	env, err := compliance.Start(ctx, compliance.Options{Candidate: candidate, Logf: logf})
	if err != nil {
		return fatal(err)
	}
	defer env.Close()
	// The servers run in their own process groups: stop them on Ctrl-C too.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		env.Close()
		fmt.Println("0 passed, 1 failed")
		os.Exit(1)
	}()
	outs, err := env.Load(ctx, env.Ref.URL, env.Cand.URL)
	if err != nil {
		return fatal(err)
	}
	outs = append(outs, compliance.RunCases(ctx, env.Ref.URL, env.Cand.URL, env.Base, cases)...)
	if candidate == "mytsdb" {
		outs = append(outs, compliance.CheckVersion(ctx, env.Cand.URL))
	}
	logf("compared %d cases", len(outs))
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

func fatal(err error) int {
	fmt.Fprintln(os.Stderr, "compliance:", err)
	fmt.Println("0 passed, 1 failed")
	return 1
}
