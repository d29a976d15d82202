package parquettier_test

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/client"

	"mytsdb/storage"
)

const (
	s3Access = "mytsdbtestaccess"
	s3Secret = "mytsdbtestsecret0123456789"
	s3Bucket = "mytsdb-tier"
)

// versitygwBinary is the real S3 server `make s3` builds (VERSITYGW_BINARY,
// exported by the Makefile, or the cache path it builds into).
func versitygwBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VERSITYGW_BINARY"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		t.Fatalf("VERSITYGW_BINARY=%s does not exist: run `make s3`", p)
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, ".cache", "ref", "versitygw-v1.8.0", "versitygw")
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("the S3 server is missing (%v): run `make s3`", err)
			}
			return p
		}
	}
	t.Fatal("go.mod not found above the test directory")
	return ""
}

// s3Server is a versitygw process serving a posix directory on loopback.
type s3Server struct {
	bin, dir, addr string
	cmd            *exec.Cmd
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

func startS3(t *testing.T) *s3Server {
	t.Helper()
	s := &s3Server{bin: versitygwBinary(t), dir: t.TempDir(), addr: freeAddr(t)}
	s.start(t)
	t.Cleanup(s.stop)
	mc, err := minio.New(s.addr, &minio.Options{Creds: credentials.NewStaticV4(s3Access, s3Secret, ""), Secure: false})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(context.Background(), s3Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return s
}

func (s *s3Server) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "--access", s3Access, "--secret", s3Secret, "--port", s.addr, "posix", s.dir)
	logf, err := os.Create(filepath.Join(t.TempDir(), "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	t.Cleanup(func() {
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("versitygw log:\n%s", tailLines(string(b), 40))
		}
	})
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen on %s: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *s3Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// s3Bucket builds the bucket as --storage.parquet.bucket-config-file does:
// objstore's client from Thanos's YAML, the S3 provider, path style.
func s3Objstore(t *testing.T, addr string) objstore.Bucket {
	t.Helper()
	conf := fmt.Sprintf(`type: S3
config:
  bucket: %s
  endpoint: %s
  access_key: %s
  secret_key: %s
  insecure: true
  bucket_lookup_type: path
  max_retries: 1
`, s3Bucket, addr, s3Access, s3Secret)
	bkt, err := client.NewBucket(log.NewNopLogger(), []byte(conf), "mytsdb-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bkt.Close() })
	return objstore.WrapWithMetrics(bkt, prometheus.NewRegistry(), "parquet")
}

// TestTierOverRealS3 runs the tier end to end against a real S3 server
// (versitygw on loopback): upload, verify, local drop, queries identical to
// before the drop; then an outage (the server killed): the storage opens,
// answers what it holds locally with a warning, keeps new blocks local;
// and once the server is back, uploads resume and the answer is whole.
func TestTierOverRealS3(t *testing.T) {
	srv := startS3(t)
	bkt := s3Objstore(t, srv.addr)
	dir := t.TempDir()
	db := openDB(t, dir, bkt, nil, nil)
	tn := db.Default()
	m := model{}
	rng := rand.New(rand.NewSource(4))
	appendSeries(t, tn, m, 8, 0, 5*blockRange, rng)
	before, _ := read(t, tn, 0, 5*blockRange)
	sameModel(t, "before the upload", before, m)
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	remote := tn.TierBlocks()
	if len(remote) < 3 {
		t.Fatalf("%d blocks only in S3, want at least 3", len(remote))
	}
	if n := len(metas(t, bkt, storage.DefaultTenant)); n < len(remote) {
		t.Fatalf("%d meta.json objects in S3, want at least %d", n, len(remote))
	}
	after, warns := read(t, tn, 0, 5*blockRange)
	if len(warns) > 0 {
		t.Fatal(warns)
	}
	sameModel(t, "after the local drop", after, before)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Outage: the server is gone while the storage restarts and writes.
	srv.stop()
	reg := prometheus.NewRegistry()
	db = openDB(t, dir, bkt, reg, nil)
	tn = db.Default()
	appendSeries(t, tn, m, 8, 5*blockRange, 8*blockRange, rng)
	got, warns := read(t, tn, 0, 8*blockRange)
	if len(warns) == 0 || !strings.Contains(strings.Join(warns, " "), "parquet tier") {
		t.Fatalf("no warning about the unreachable tier: %v", warns)
	}
	var newestRemote int64
	for _, b := range remote {
		newestRemote = max(newestRemote, b.MaxTime)
	}
	sameModel(t, "during the outage, what is held locally", got, m.in(newestRemote, 8*blockRange))
	// The appends have started a round already (the head was due); one
	// more, then the blocks cut meanwhile must all be local.
	_ = db.Maintain(context.Background())
	if n := testutil.ToFloat64(counter(t, reg, "mytsdb_parquet_tier_failures_total")); n < 1 {
		t.Fatalf("mytsdb_parquet_tier_failures_total = %v during the outage", n)
	}
	var localMax int64
	for _, b := range tn.Blocks() {
		localMax = max(localMax, b.MaxTime)
	}
	if localMax < 7*blockRange {
		t.Fatalf("the blocks cut during the outage are not local: newest local block ends at %d (%v)", localMax, tn.Blocks())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// The server is back: the next round uploads, the answer is whole.
	srv.start(t)
	db = openDB(t, dir, bkt, nil, nil)
	defer db.Close()
	tn = db.Default()
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, warns = read(t, tn, 0, 8*blockRange)
	if len(warns) > 0 {
		t.Fatal(warns)
	}
	sameModel(t, "after the outage", got, m)
	if n := len(tn.TierBlocks()); n <= len(remote) {
		t.Fatalf("%d blocks only in S3 after the outage, had %d: uploads did not resume", n, len(remote))
	}
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestTierDeleteSeriesOverRealS3 runs the delete_series test of the
// bucket-only blocks (admin_test.go) against the real S3 server: the
// rewrite, the deletion of the old blocks and the reads after a restart.
func TestTierDeleteSeriesOverRealS3(t *testing.T) {
	srv := startS3(t)
	testTierDeleteSeries(t, s3Objstore(t, srv.addr))
}
