package promapi

import (
	"fmt"
	"net/http"
)

// TenantHeader names the tenant of a request (Mimir's convention).
const TenantHeader = "X-Scope-OrgID"

// DefaultTenant is the tenant of requests without TenantHeader.
const DefaultTenant = "default"

// maxTenantLen is the longest tenant ID accepted.
const maxTenantLen = 150

// validateTenant applies the storage's tenant rules: 1..150 bytes of
// [A-Za-z0-9_.-], not "." or "..".
func validateTenant(id string) error {
	if id == "" || len(id) > maxTenantLen {
		return fmt.Errorf("invalid tenant ID %q: must be 1 to %d bytes long", id, maxTenantLen)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("invalid tenant ID %q", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("invalid tenant ID %q: only characters [A-Za-z0-9_.-] are allowed", id)
		}
	}
	return nil
}

// tenantStorage returns the storage of the request's tenant.
func (a *API) tenantStorage(r *http.Request) (TenantStorage, *apiError) {
	_, st, err := a.tenant(r)
	return st, err
}

// tenant returns the request's tenant ID and storage.
func (a *API) tenant(r *http.Request) (string, TenantStorage, *apiError) {
	id, apiErr := a.tenantID(r)
	if apiErr != nil {
		return "", nil, apiErr
	}
	if a.opts.Storage == nil {
		return "", nil, &apiError{errorInternal, errorString("no storage configured")}
	}
	st, err := a.opts.Storage(id)
	if err != nil {
		return "", nil, &apiError{errorInternal, fmt.Errorf("opening storage of tenant %q: %w", id, err)}
	}
	return id, st, nil
}

// tenantID returns the request's tenant ID, validated, without opening its
// storage (which would create a tenant that only asked).
func (a *API) tenantID(r *http.Request) (string, *apiError) {
	id := DefaultTenant
	// Values canonicalizes the name ("X-Scope-Orgid"), as the server does.
	if vals := r.Header.Values(TenantHeader); len(vals) > 0 {
		if len(vals) != 1 {
			return "", badData(fmt.Errorf("expected exactly one %s header, got %d", TenantHeader, len(vals)))
		}
		id = vals[0]
	}
	validate := a.opts.ValidateTenant
	if validate == nil {
		validate = validateTenant
	}
	if err := validate(id); err != nil {
		return "", badData(err)
	}
	return id, nil
}
