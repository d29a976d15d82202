package web

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestServeWithWebConfig serves through exporter-toolkit with a
// --web.config.file that requires basic auth, then shuts down on cancel.
func TestServeWithWebConfig(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(cfg, []byte("basic_auth_users:\n  admin: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{ListenAddresses: []string{"127.0.0.1:0"}, WebConfigFile: cfg, MaxConnections: 4})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := h.Listen()
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ls[0].Addr().String() + "/-/healthy"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx, ls) }()

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without credentials: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.SetBasicAuth("admin", "secret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("with credentials: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}

	bad := filepath.Join(t.TempDir(), "bad.yml")
	os.WriteFile(bad, []byte("tls_server_config:\n  cert_file: /nonexistent\n"), 0o600)
	hb, _ := New(Options{ListenAddresses: []string{"127.0.0.1:0"}, WebConfigFile: bad})
	if _, err := hb.Listen(); err == nil {
		t.Fatal("an invalid web config file was accepted")
	}
}
