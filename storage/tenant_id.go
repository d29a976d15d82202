package storage

import (
	"errors"
	"fmt"
)

// DefaultTenant receives scraped and rule data, and requests without X-Scope-OrgID.
const DefaultTenant = "default"

// MaxTenantIDLength is the longest tenant ID accepted, in bytes.
const MaxTenantIDLength = 150

// ErrInvalidTenantID is wrapped by every ValidateTenantID error.
var ErrInvalidTenantID = errors.New("invalid tenant ID")

// ValidateTenantID accepts IDs of 1 to 150 bytes of [A-Za-z0-9_.-], except
// "." and "..": exactly the names that are a single safe path element.
func ValidateTenantID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidTenantID)
	case len(id) > MaxTenantIDLength:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidTenantID, MaxTenantIDLength)
	case id == "." || id == "..":
		return fmt.Errorf("%w: %q", ErrInvalidTenantID, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%w: byte %#x at %d (allowed: A-Z a-z 0-9 _ . -)", ErrInvalidTenantID, c, i)
		}
	}
	return nil
}
