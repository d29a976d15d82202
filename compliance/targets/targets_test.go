package targets

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// TestExpositionsParse checks each fixture with Prometheus's own text parser,
// so a typo in a fixture cannot silently turn into a scrape error on both sides.
func TestExpositionsParse(t *testing.T) {
	for name, body := range map[string]string{"static": Static, "second": Second, "flaky": Flaky} {
		p, err := textparse.New([]byte(body), "text/plain; version=0.0.4", labels.NewSymbolTable(), textparse.ParserOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := 0
		for {
			e, err := p.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if e == textparse.EntrySeries {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("%s: no series", name)
		}
	}
}

func TestDisappear(t *testing.T) {
	s := Start()
	defer s.Close()
	get := func() (int, string) {
		resp, err := http.Get(s.Flaky.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != 200 || !strings.Contains(body, "fixture_flaky_up") {
		t.Fatalf("before: %d %q", code, body)
	}
	s.Disappear()
	if code, _ := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("after Disappear: HTTP %d", code)
	}
	if !strings.HasPrefix(Host(s.Static), "127.0.0.1:") {
		t.Fatalf("Host = %s", Host(s.Static))
	}
}
