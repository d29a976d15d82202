// Package server starts and stops one Prometheus-compatible server process
// (the real prometheus or mytsdb) for the side-by-side harness and the
// benchmark drivers: 127.0.0.1, a free port, a temporary data directory, the
// remote-write receiver and the lifecycle API enabled, a given config file.
//
// It owns process lifetime only; it knows nothing about data or queries and
// must not touch anything outside the temporary directory it creates.
package server

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Options describe one server process.
type Options struct {
	Name       string   // "reference" or "candidate"; used in errors and the log file name
	Binary     string   // path to a prometheus-compatible binary
	ConfigFile string   // --config.file
	ExtraFlags []string // appended after the standard flags
	// ReadyTimeout bounds the wait for /-/ready (default 60s).
	ReadyTimeout time.Duration
	// DataDir is --storage.tsdb.path; "" is a new directory that Stop
	// removes. A given one is the caller's: Stop leaves it.
	DataDir string
}

// Server is a running server process.
type Server struct {
	Name    string
	URL     string // http://127.0.0.1:port, no trailing slash
	DataDir string
	Binary  string

	dir  string
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
	err  error // set when the process exits, before done is closed
}

// Start launches the process and waits until it answers /-/ready with 200.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Binary == "" {
		return nil, fmt.Errorf("server %s: no binary given", o.Name)
	}
	if _, err := os.Stat(o.Binary); err != nil {
		return nil, fmt.Errorf("server %s: %w", o.Name, err)
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	dir, err := os.MkdirTemp("", "mytsdb-compliance-"+o.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("server %s: temp dir: %w", o.Name, err)
	}
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("server %s: %w", o.Name, err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{
		Name:    o.Name,
		URL:     "http://" + addr,
		DataDir: cmp.Or(o.DataDir, filepath.Join(dir, "data")),
		Binary:  o.Binary,
		dir:     dir,
		logs:    &lockedBuffer{},
		done:    make(chan struct{}),
	}
	args := []string{
		"--config.file=" + o.ConfigFile,
		"--web.listen-address=" + addr,
		"--storage.tsdb.path=" + s.DataDir,
		"--web.enable-remote-write-receiver",
		"--web.enable-lifecycle",
		"--log.level=warn",
	}
	args = append(args, o.ExtraFlags...)
	s.cmd = exec.Command(o.Binary, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("server %s: start %s: %w", o.Name, o.Binary, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx, o.ReadyTimeout); err != nil {
		s.Stop()
		return nil, fmt.Errorf("server %s: %w\n--- log ---\n%s", o.Name, err, s.Logs())
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.done:
			return fmt.Errorf("exited before ready: %v", s.err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s (last error %v)", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID is the process id (for a benchmark driver reading /proc/<pid>/status).
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Logs returns what the process wrote to stdout and stderr so far.
func (s *Server) Logs() string { return s.logs.String() }

// Reload asks the server to reload its config through POST /-/reload.
func (s *Server) Reload() error {
	resp, err := http.Post(s.URL+"/-/reload", "", nil)
	if err != nil {
		return fmt.Errorf("server %s: reload: %w", s.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server %s: reload: HTTP %d", s.Name, resp.StatusCode)
	}
	return nil
}

// Stop sends SIGTERM, waits up to 20s (then SIGKILL) and removes the temp dir.
// It is safe to call more than once.
func (s *Server) Stop() error {
	err := s.Halt()
	os.RemoveAll(s.dir)
	return err
}

// Halt is Stop without removing anything: the data directory stays for
// another server to open (as a user swaps one binary for another).
func (s *Server) Halt() error {
	if s.cmd.Process != nil {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(20 * time.Second):
				_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
				<-s.done
			}
		}
	}
	var exitErr *exec.ExitError
	err := s.err
	if errors.As(err, &exitErr) && exitErr.Sys().(syscall.WaitStatus).Signaled() {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("server %s: exit: %w", s.Name, err)
	}
	return nil
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 { // keep the last MiB or so, enough for an error report
		l.b.Reset()
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
