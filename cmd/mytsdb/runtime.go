package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/config"
	"golang.org/x/sys/unix"
)

// setGoMaxProcs honours --auto-gomaxprocs. Go's runtime already follows the
// container CPU quota by default, which is what the flag's default asks for;
// turning the flag off pins GOMAXPROCS to the machine's CPU count.
func setGoMaxProcs(enable bool, logger *slog.Logger) {
	if enable {
		logger.Info("GOMAXPROCS follows the container CPU quota (Go runtime default)", "component", "automaxprocs", "GOMAXPROCS", runtime.GOMAXPROCS(0))
		return
	}
	runtime.GOMAXPROCS(runtime.NumCPU())
}

// setGoMemLimit honours --auto-gomemlimit and --auto-gomemlimit.ratio:
// GOMEMLIMIT = ratio × (cgroup memory limit, else total system memory),
// unless the GOMEMLIMIT environment variable is set. With
// --auto-gomemlimit.refresh-interval > 0 the limit is re-detected at that
// interval until the process exits (a Vertical Pod Autoscaler may resize the
// cgroup under a running server).
func setGoMemLimit(enable bool, ratio float64, refresh time.Duration, logger *slog.Logger) {
	if !enable {
		return
	}
	logger = logger.With("component", "automemlimit")
	if os.Getenv("GOMEMLIMIT") != "" {
		logger.Info("GOMEMLIMIT is set in the environment; not changing it")
		return
	}
	m := memLimiter{ratio: ratio, detect: detectMemoryLimit, set: debug.SetMemoryLimit, logger: logger}
	m.apply()
	if refresh > 0 {
		go func() {
			for range time.Tick(refresh) {
				m.apply()
			}
		}()
	}
}

// memLimiter sets GOMEMLIMIT from a detected memory limit; detect and set
// are the system's in the server and a model's in tests.
type memLimiter struct {
	ratio  float64
	detect func() (limit uint64, source string, err error)
	set    func(int64) int64
	logger *slog.Logger
	last   int64
}

// apply sets the limit when it changed since the last apply; a failed
// detection keeps the previous limit.
func (m *memLimiter) apply() {
	limit, source, err := m.detect()
	if err != nil {
		m.logger.Warn("Failed to set GOMEMLIMIT automatically", "err", err)
		return
	}
	if limit == 0 {
		return
	}
	n := int64(float64(limit) * m.ratio)
	if n == m.last {
		return
	}
	prev := m.set(n)
	m.last = n
	m.logger.Info("GOMEMLIMIT is updated", "GOMEMLIMIT", n, "previous", prev, "from", source)
}

// detectMemoryLimit is the cgroup's limit, else the machine's memory.
func detectMemoryLimit() (uint64, string, error) {
	if limit := cgroupMemoryLimit(); limit != 0 {
		return limit, "cgroup", nil
	}
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0, "", fmt.Errorf("sysinfo: %w", err)
	}
	return uint64(si.Totalram) * uint64(si.Unit), "system", nil
}

// cgroupMemoryLimit returns the cgroup v2 (or v1) memory limit, 0 if none.
func cgroupMemoryLimit() uint64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v >= 1<<62 { // cgroup v1 reports "unlimited" as a huge number
			return 0
		}
		return v
	}
	return 0
}

// updateGoGC applies the config file's runtime.gogc as Prometheus does.
func updateGoGC(conf *config.Config, logger *slog.Logger) {
	oldGoGC := debug.SetGCPercent(conf.Runtime.GoGC)
	if oldGoGC != conf.Runtime.GoGC {
		logger.Info("updated GOGC", "old", oldGoGC, "new", conf.Runtime.GoGC)
	}
	if conf.Runtime.GoGC >= 0 {
		os.Setenv("GOGC", strconv.Itoa(conf.Runtime.GoGC))
	} else {
		os.Setenv("GOGC", "off")
	}
}
