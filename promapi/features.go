package promapi

import (
	"errors"
	"net/http"
	"slices"
)

// featuresData is /features: category → feature → enabled, keys sorted and
// strings not HTML-escaped (Prometheus encodes it with its own jsoniter config).
type featuresData map[string]map[string]bool

func (f featuresData) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i, cat := range sortedKeys(f) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendRawString(dst, cat)
		dst = append(dst, ':', '{')
		for j, name := range sortedKeys(f[cat]) {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendRawString(dst, name)
			if f[cat][name] {
				dst = append(dst, ":true"...)
			} else {
				dst = append(dst, ":false"...)
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (a *API) features(*http.Request) result {
	if a.opts.Features == nil {
		return result{err: &apiError{errorInternal, errors.New("feature registry not configured")}}
	}
	return result{data: featuresData(a.opts.Features.Get())}
}
