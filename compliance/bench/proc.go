package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"mytsdb/compliance/server"
)

// minimalConfig is the server config of every run: no scrape jobs, so the
// only data is the remote-written load.
const minimalConfig = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n"

// proc is one server process on a given data directory.
type proc struct {
	name       string
	binary     string
	configFile string
	extra      []string // flags after the standard ones
	dataDir    string
	url        string
	logPath    string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // valid once done is closed
}

// startProc launches binary with Prometheus's flags on dataDir and a free
// port; it does not wait for readiness (see waitReady).
func startProc(name, binary, configFile, dataDir, logPath string, extra []string) (*proc, error) {
	port, err := server.FreePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: log file: %w", name, err)
	}
	p := &proc{name: name, binary: binary, configFile: configFile, extra: extra, dataDir: dataDir, url: "http://" + addr, logPath: logPath, done: make(chan struct{})}
	args := []string{
		"--config.file=" + configFile,
		"--web.listen-address=" + addr,
		"--storage.tsdb.path=" + dataDir,
		"--web.enable-remote-write-receiver",
		"--log.level=warn",
	}
	p.cmd = exec.Command(binary, append(args, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: %s: start %s: %w", name, binary, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// waitReady polls /-/ready until it answers 200.
func (p *proc) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before ready (%v); log tail: %s", p.name, p.err, p.logTail())
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/-/ready", nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (last: %v); log tail: %s", p.name, timeout, last, p.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL to the process group and waits for the exit.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM, waits up to 30s, then kills.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
	}
}

// logTail returns the last KiB of the process's log, on one line.
func (p *proc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log)"
	}
	if len(b) > 1024 {
		b = b[len(b)-1024:]
	}
	return string(b)
}

// binaries are the two servers' binaries, or why one is unusable.
type binaries struct {
	prometheus, mytsdb string
	promErr, mytsdbErr error
}

// resolveBinaries applies cfg's overrides, else compliance/server's lookups
// (which may go build ./cmd/mytsdb into buildDir).
func resolveBinaries(cfg *Config, buildDir string) binaries {
	var b binaries
	if cfg.PrometheusBinary != "" {
		b.prometheus = cfg.PrometheusBinary
		if _, err := os.Stat(b.prometheus); err != nil {
			b.promErr = fmt.Errorf("reference prometheus binary missing (%w): run make ref", err)
		}
	} else {
		b.prometheus, b.promErr = server.PrometheusBinary()
	}
	if cfg.MytsdbBinary != "" {
		b.mytsdb = cfg.MytsdbBinary
		if _, err := os.Stat(b.mytsdb); err != nil {
			b.mytsdbErr = fmt.Errorf("mytsdb binary: %w", err)
		}
	} else {
		b.mytsdb, b.mytsdbErr = server.MytsdbBinary(buildDir)
	}
	return b
}

func writeConfig(dir string) (string, error) {
	p := filepath.Join(dir, "bench.yml")
	if err := os.WriteFile(p, []byte(minimalConfig), 0o644); err != nil {
		return "", fmt.Errorf("bench: write config: %w", err)
	}
	return p, nil
}
