package compliance

import (
	"fmt"
	"os"
	"path/filepath"

	"mytsdb/compliance/corpus"
	"mytsdb/compliance/server"
)

// CorpusPath is the corpus file, relative to the module root.
const CorpusPath = "compliance/testdata/queries.txt"

// LoadCorpus reads the corpus from the module root.
func LoadCorpus() ([]corpus.Case, error) {
	root, err := server.ModuleRoot()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(root, CorpusPath))
	if err != nil {
		return nil, fmt.Errorf("compliance: %w", err)
	}
	defer f.Close()
	return corpus.Parse(f)
}

// Quick is the subset `go test` runs: every third query case, and every API,
// scrape and error case (those are few and each covers a distinct path).
func Quick(cases []corpus.Case) []corpus.Case {
	var out []corpus.Case
	n := 0
	for _, c := range cases {
		if c.Kind == corpus.Instant || c.Kind == corpus.Range {
			n++
			if n%3 != 1 {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}
