package storage

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateTenantID(t *testing.T) {
	good := []string{"default", "a", "A-b_c.d", "..a", "a..", ".x", strings.Repeat("x", 150), "0"}
	for _, id := range good {
		if err := ValidateTenantID(id); err != nil {
			t.Errorf("ValidateTenantID(%q) = %v, want nil", id, err)
		}
	}
	bad := []string{"", ".", "..", "a/b", "../x", "/abs", "a\\b", strings.Repeat("x", 151), "ä", "a b", "a\x00", "tenant:1"}
	for _, id := range bad {
		if err := ValidateTenantID(id); !errors.Is(err, ErrInvalidTenantID) {
			t.Errorf("ValidateTenantID(%q) = %v, want ErrInvalidTenantID", id, err)
		}
	}
}

// FuzzValidateTenantID checks that no accepted ID escapes the data directory:
// it must be exactly one path element directly under it.
func FuzzValidateTenantID(f *testing.F) {
	for _, s := range []string{"default", ".", "..", "a/b", "../x", "ä", "...", "a\x00b", strings.Repeat("y", 151)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidateTenantID(id) != nil {
			return
		}
		const dir = "/data/dir"
		p := filepath.Join(dir, id)
		if filepath.Dir(p) != dir || filepath.Base(p) != id || id == "." || id == ".." || len(id) > MaxTenantIDLength || len(id) == 0 {
			t.Fatalf("accepted tenant ID %q escapes or is not one element: %s", id, p)
		}
		for _, c := range []byte(id) {
			if c == '/' || c == '\\' || c == 0 || c >= 0x80 {
				t.Fatalf("accepted tenant ID %q holds byte %#x", id, c)
			}
		}
	})
}
