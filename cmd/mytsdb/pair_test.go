package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pair is mytsdb and the reference Prometheus started with the same flags
// and configuration file, both receiving OTLP and remote write.
type pair struct {
	t          *testing.T
	mine, ref  *proc
	cfgs       [2]string // their config files
	extraFlags []string
}

func startPair(t *testing.T, config string, flags ...string) *pair {
	t.Helper()
	p := &pair{t: t, extraFlags: flags}
	for i, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "prometheus.yml")
		writeFile(t, cfg, config)
		p.cfgs[i] = cfg
		addr := freeAddr(t)
		args := append([]string{
			"--config.file=" + cfg,
			"--storage.tsdb.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr,
			"--web.enable-otlp-receiver",
			"--web.enable-remote-write-receiver",
			"--web.enable-lifecycle",
			"--log.level=warn",
		}, flags...)
		pr := start(t, bin, dir, addr, args...)
		if i == 0 {
			p.mine = pr
		} else {
			p.ref = pr
		}
	}
	p.mine.waitReady(30 * time.Second)
	p.ref.waitReady(30 * time.Second)
	return p
}

func (p *pair) both() []*proc { return []*proc{p.mine, p.ref} }

// reload writes config to both servers' files and reloads them.
func (p *pair) reload(config string) {
	p.t.Helper()
	for i, pr := range p.both() {
		writeFile(p.t, p.cfgs[i], config)
		resp, err := http.Post(pr.url("/-/reload"), "", nil)
		if err != nil {
			p.t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			p.t.Fatalf("reload of %s: %d %s", pr.addr, resp.StatusCode, body)
		}
	}
}

// get returns the status and body of a GET.
func get(t *testing.T, u string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sameAnswers asks both servers each API path and requires the same status
// and body, and that mytsdb's answer holds at least one series (so that two
// empty stores do not pass).
func (p *pair) sameAnswers(paths ...string) {
	p.t.Helper()
	p.compare(true, paths...)
}

// compare is sameAnswers; with wantSeries false the answers must hold none.
func (p *pair) compare(wantSeries bool, paths ...string) {
	p.t.Helper()
	for _, path := range paths {
		mc, mb := get(p.t, p.mine.url(path))
		rc, rb := get(p.t, p.ref.url(path))
		if mc != rc || mb != rb {
			p.t.Errorf("GET %s:\n mytsdb     %d %s\n prometheus %d %s", path, mc, mb, rc, rb)
			continue
		}
		if strings.Contains(mb, `"__name__"`) != wantSeries {
			p.t.Errorf("GET %s: both answered %s, want series: %v", path, mb, wantSeries)
		}
	}
}
