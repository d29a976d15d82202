package compliance

import (
	"context"
	"encoding/json"
	"net/http"
)

// CheckVersion is the one check that is not a comparison: the version in
// mytsdb's /api/v1/status/buildinfo (exempted from the comparison, since the
// binaries differ) must not be empty, i.e. the binary was built with
// compliance/server.LDFlags. The reference, built by `go install` without
// -ldflags, has an empty one, so only a mytsdb candidate is checked.
func CheckVersion(ctx context.Context, candURL string) Outcome {
	o := Outcome{Name: "check candidate GET /api/v1/status/buildinfo: data.version is not empty"}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, candURL+"/api/v1/status/buildinfo", nil)
	if err != nil {
		o.Result.Reason = err.Error()
		return o
	}
	resp := send(hr)
	o.Result.Cand = string(resp.Body)
	var bi struct {
		Data struct {
			Version string `json:"version"`
		} `json:"data"`
	}
	switch {
	case resp.Err != nil:
		o.Result.Reason = "transport error: " + resp.Err.Error()
	case resp.Status != http.StatusOK:
		o.Result.Reason = "HTTP status " + http.StatusText(resp.Status)
	case json.Unmarshal(resp.Body, &bi) != nil:
		o.Result.Reason = "body is not JSON"
	case bi.Data.Version == "":
		o.Result.Reason = "empty version: build mytsdb with -ldflags from compliance/server.LDFlags (go run ./compliance/cmd/ldflags)"
	default:
		o.Result.OK = true
	}
	o.Result.Ref = "(not compared)"
	return o
}
