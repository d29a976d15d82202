package remotewrite

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
)

// Proto names a remote-write protobuf message, as in the Content-Type's
// proto= parameter and Prometheus's
// --web.remote-write-receiver.accepted-protobuf-messages flag.
type Proto string

const (
	// ProtoV1 is remote write 1.0's prometheus.WriteRequest.
	ProtoV1 Proto = "prometheus.WriteRequest"
	// ProtoV2 is remote write 2.0's io.prometheus.write.v2.Request.
	ProtoV2 Proto = "io.prometheus.write.v2.Request"
)

// DefaultTenant is the tenant of requests without an X-Scope-OrgID header.
const DefaultTenant = "default"

// TenantHeader names the tenant of a request (Mimir's convention).
const TenantHeader = "X-Scope-OrgID"

// DefaultRefCacheSize is the default number of series refs cached per tenant.
const DefaultRefCacheSize = 1 << 20

// Options configure the receiver. Only Appendable is required.
type Options struct {
	// Appendable returns the storage of a tenant. The appenders it returns
	// must implement storage.ExemplarAppenderV2 (as Prometheus requires).
	Appendable func(tenant string) (storage.AppendableV2, error)
	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: metrics are not registered

	// AcceptedProtos are the accepted messages; nil or empty means both,
	// Prometheus's default.
	AcceptedProtos []Proto

	// EnableTypeAndUnitLabels adds __type__ and __unit__ labels from 2.0
	// metadata (Prometheus's --enable-feature=type-and-unit-labels).
	EnableTypeAndUnitLabels bool
	// AppendMetadata passes 2.0 metadata to every Append
	// (Prometheus's --enable-feature=metadata-wal-records).
	AppendMetadata bool

	// ValidateTenant checks X-Scope-OrgID values; an error is answered with
	// 400. nil uses ValidateTenantID.
	ValidateTenant func(string) error
	// RefCacheSize bounds the series refs cached per tenant: 0 means
	// DefaultRefCacheSize, negative disables the cache.
	RefCacheSize int
}

// Validate reports every problem of o at once.
func (o *Options) Validate() error {
	var errs []string
	if o.Appendable == nil {
		errs = append(errs, "Appendable is required")
	}
	for _, p := range o.AcceptedProtos {
		if p != ProtoV1 && p != ProtoV2 {
			errs = append(errs, fmt.Sprintf("unknown protobuf message %q in AcceptedProtos, supported: %s, %s", p, ProtoV1, ProtoV2))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remotewrite: invalid options: %s", strings.Join(errs, "; "))
	}
	return nil
}

func (o *Options) accepts(p Proto) bool {
	if len(o.AcceptedProtos) == 0 {
		return true
	}
	for _, a := range o.AcceptedProtos {
		if a == p {
			return true
		}
	}
	return false
}

func (o *Options) acceptedString() string {
	ps := o.AcceptedProtos
	if len(ps) == 0 {
		ps = []Proto{ProtoV1, ProtoV2}
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// ValidateTenantID applies the tenant rules of the storage: 1 to 150 bytes of
// [A-Za-z0-9_.-], and neither "." nor "..".
func ValidateTenantID(id string) error {
	if len(id) == 0 || len(id) > 150 {
		return fmt.Errorf("tenant ID must be 1 to 150 bytes long, got %d", len(id))
	}
	if id == "." || id == ".." {
		return fmt.Errorf("tenant ID %q is not allowed", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("tenant ID %q holds %q: only [A-Za-z0-9_.-] are allowed", id, c)
		}
	}
	return nil
}
