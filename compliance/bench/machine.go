package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"mytsdb/compliance/server"
)

// Machine describes where and on what the figures were taken.
type Machine struct {
	Date       time.Time
	CPU        string
	Cores      int
	MemoryGiB  float64
	Kernel     string
	GoVersion  string
	Commit     string // git rev-parse HEAD, "+dirty" if the tree has changes
	Prometheus string // first line of `prometheus --version`
	Mytsdb     string // the binary used
	LoadAvg    string // /proc/loadavg at the start (other work on the machine)
}

func machineInfo() Machine {
	m := Machine{Date: time.Now().UTC(), Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.CPU = firstMatch("/proc/cpuinfo", "model name")
	if kb := firstMatch("/proc/meminfo", "MemTotal"); kb != "" {
		var n float64
		fmt.Sscanf(kb, "%f", &n)
		m.MemoryGiB = n / (1 << 20)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	m.Commit = gitCommit()
	return m
}

// firstMatch returns the value of the first "key: value" line starting with key.
func firstMatch(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func gitCommit() string {
	root, err := server.ModuleRoot()
	if err != nil {
		return "unknown"
	}
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}

func binaryVersion(bin string) string {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	line = strings.TrimSpace(line)
	if strings.Contains(line, "version  ") { // built by go install: no version stamp; ask the module info
		if mod, err := exec.Command("go", "version", "-m", bin).Output(); err == nil {
			for _, l := range strings.Split(string(mod), "\n") {
				if f := strings.Fields(l); len(f) >= 3 && f[0] == "mod" {
					return f[1] + " " + f[2]
				}
			}
		}
	}
	return line
}
