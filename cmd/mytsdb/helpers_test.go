package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	buildserver "mytsdb/compliance/server"
	"mytsdb/storage/crashpoint"
)

// mytsdbBinary is the binary under test: $MYTSDB_BINARY, or built by TestMain.
var mytsdbBinary string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	mytsdbBinary = os.Getenv("MYTSDB_BINARY")
	if mytsdbBinary == "" {
		dir, err := os.MkdirTemp("", "mytsdb-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		mytsdbBinary = filepath.Join(dir, "mytsdb")
		cmd := exec.Command("go", "build", "-ldflags", buildserver.LDFlags(), "-o", mytsdbBinary, ".")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building mytsdb:", err)
			return 1
		}
	}
	return m.Run()
}

// prometheusBinary returns the reference prometheus or fails the test.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PROMETHEUS_BINARY")
	if p == "" {
		p = filepath.Join("..", "..", ".cache", "ref", "v0.316.0", "prometheus")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("reference prometheus binary not found at %s (run make ref): %v", abs, err)
	}
	return abs
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a running server process (mytsdb or the reference prometheus).
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	log  string
	done chan struct{}
	err  error
}

// start runs bin with args in dir; the process's output goes to a log file
// that is printed if the test fails.
func start(t *testing.T, bin, dir, addr string, args ...string) *proc {
	t.Helper()
	return startEnv(t, nil, bin, dir, addr, args...)
}

// startEnv is start with env (NAME=value entries) added to the test's
// environment, from which the crash points' variable is always removed: a
// process arms them only when env asks.
func startEnv(t *testing.T, env []string, bin, dir, addr string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "server.log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, crashpoint.EnvVar+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, addr: addr, log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); lf.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("log of %s %v:\n%s", filepath.Base(bin), args, tail(string(b), 60))
		}
	})
	return p
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func (p *proc) url(path string) string { return "http://" + p.addr + path }

// waitReady waits for /-/ready to answer 200.
func (p *proc) waitReady(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			p.t.Fatalf("server exited before becoming ready: %v", p.err)
		}
		resp, err := http.Get(p.url("/-/ready"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("server at %s not ready after %s", p.addr, timeout)
}

// apiResponse is Prometheus's JSON envelope.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

type sample struct {
	T int64
	V string
}

type seriesResult struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
	Values [][]any           `json:"values"`
}

type queryData struct {
	ResultType string         `json:"resultType"`
	Result     []seriesResult `json:"result"`
}

// query runs an instant query at ts (zero = now).
func (p *proc) query(q string, ts time.Time) (queryData, error) {
	v := url.Values{"query": {q}}
	if !ts.IsZero() {
		v.Set("time", strconv.FormatFloat(float64(ts.UnixMilli())/1000, 'f', 3, 64))
	}
	resp, err := http.PostForm(p.url("/api/v1/query"), v)
	if err != nil {
		return queryData{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return queryData{}, fmt.Errorf("query %q: status %d, body %q: %w", q, resp.StatusCode, body, err)
	}
	if r.Status != "success" {
		return queryData{}, fmt.Errorf("query %q: %s: %s", q, r.ErrorType, r.Error)
	}
	var d queryData
	if err := json.Unmarshal(r.Data, &d); err != nil {
		return queryData{}, fmt.Errorf("query %q: data %s: %w", q, r.Data, err)
	}
	return d, nil
}

// waitQueryValue waits until q returns exactly one series whose value is want.
func (p *proc) waitQueryValue(q, want string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		d, err := p.query(q, time.Time{})
		if err != nil {
			last = err.Error()
		} else if len(d.Result) == 1 && len(d.Result[0].Value) == 2 && d.Result[0].Value[1] == want {
			return
		} else {
			last = fmt.Sprintf("%+v", d.Result)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("%s did not become %s within %s; last answer: %s", q, want, timeout, last)
}

// rangeSamples returns the raw samples of every series matching selector
// within the last window before at, keyed by the series' label set.
func (p *proc) rangeSamples(selector string, window string, at time.Time) (map[string][]sample, error) {
	d, err := p.query(selector+"["+window+"]", at)
	if err != nil {
		return nil, err
	}
	if d.ResultType != "matrix" {
		return nil, fmt.Errorf("result type %q, want matrix", d.ResultType)
	}
	out := map[string][]sample{}
	for _, s := range d.Result {
		key := labelKey(s.Metric)
		for _, v := range s.Values {
			ts, ok1 := v[0].(float64)
			val, ok2 := v[1].(string)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("bad sample %v", v)
			}
			out[key] = append(out[key], sample{T: int64(ts*1000 + 0.5), V: val})
		}
	}
	return out, nil
}

func labelKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, m[k])
	}
	return b.String()
}

// remoteWrite sends one protocol-1.0 write request; it returns the status.
func remoteWrite(client *http.Client, addr string, req *prompb.WriteRequest) (int, error) {
	code, _, err := remoteWriteAs(client, addr, "", req)
	return code, err
}

// remoteWriteAs sends one protocol-1.0 write request as tenant (X-Scope-OrgID;
// "" sends none) and returns the status and the response body.
func remoteWriteAs(client *http.Client, addr, tenant string, req *prompb.WriteRequest) (int, string, error) {
	raw, err := req.Marshal()
	if err != nil {
		return 0, "", err
	}
	hr, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return 0, "", err
	}
	hr.Header.Set("Content-Encoding", "snappy")
	hr.Header.Set("Content-Type", "application/x-protobuf")
	hr.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	if tenant != "" {
		hr.Header.Set("X-Scope-OrgID", tenant)
	}
	resp, err := client.Do(hr)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// perSecondWrite is a write request of n series name{s="0"..} with 600
// samples each, one second apart up to now, sample i of series s valued
// v(i, s).
func perSecondWrite(name string, n int, now time.Time, v func(i, s int) float64) *prompb.WriteRequest {
	req := &prompb.WriteRequest{}
	for s := range n {
		ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}, {Name: "s", Value: strconv.Itoa(s)}}}
		for i := range 600 {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: now.Add(time.Duration(i-600) * time.Second).UnixMilli(), Value: v(i, s)})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	return req
}

// stopGracefully sends SIGTERM and waits for the exit.
func stopGracefully(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("process did not exit within 30s of SIGTERM")
	}
}
