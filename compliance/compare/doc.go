// Package compare decides whether two HTTP responses — one from the reference
// Prometheus, one from the candidate — are the same: status code, the headers
// that matter, and the JSON body exactly (key order, array order, every value
// as the literal text the server wrote, so NaN equals NaN and a flipped last
// bit is a difference). The only things removed before comparing are the
// exemptions listed, each with its reason, in exemptions.go.
//
// A mismatch is rendered with both responses side by side (sidebyside.go).
// The package does no I/O.
package compare
