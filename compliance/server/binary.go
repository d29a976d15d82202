package server

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RefVersion is the Prometheus release the reference binary is built from
// (the version pinned in go.mod; the Makefile's `make ref` builds it).
const RefVersion = "v0.316.0"

// MytsdbVersion is the version a mytsdb built from this tree reports in
// --version, its start-up log and /api/v1/status/buildinfo.
const MytsdbVersion = "0.1.0"

// LDFlags is the -ldflags value every build of mytsdb uses (the Makefile
// through `go run ./compliance/cmd/ldflags`, and tests that build the binary
// themselves): mytsdb's build information lives, as Prometheus's does, in
// github.com/prometheus/common/version.
func LDFlags() string {
	return "-X github.com/prometheus/common/version.Version=" + MytsdbVersion
}

// ModuleRoot finds the directory holding mytsdb's go.mod, walking up from the
// working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module mytsdb\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("module root of mytsdb not found above the working directory")
		}
		dir = parent
	}
}

// PrometheusBinary returns $PROMETHEUS_BINARY, else .cache/ref/<RefVersion>/prometheus
// under the module root. It fails with "run make ref" if the file is missing.
func PrometheusBinary() (string, error) {
	p := os.Getenv("PROMETHEUS_BINARY")
	if p == "" {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		p = filepath.Join(root, ".cache", "ref", RefVersion, "prometheus")
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("reference prometheus binary missing (%w): run make ref", err)
	}
	return p, nil
}

// MytsdbBinary returns $MYTSDB_BINARY if that file exists, else builds
// ./cmd/mytsdb with `go build -ldflags LDFlags()` into dir and returns the
// built path.
func MytsdbBinary(dir string) (string, error) {
	if p := os.Getenv("MYTSDB_BINARY"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "mytsdb")
	cmd := exec.Command("go", "build", "-ldflags", LDFlags(), "-o", out, "./cmd/mytsdb")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/mytsdb: %w\n%s", err, b)
	}
	return out, nil
}
