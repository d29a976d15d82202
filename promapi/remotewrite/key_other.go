//go:build slicelabels || dedupelabels

package remotewrite

import (
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// addLabel adds a pair whose strings alias the request buffer; slicelabels
// and dedupelabels keep the strings they are given, so they are cloned.
func addLabel(b *labels.ScratchBuilder, name, value string) {
	b.Add(strings.Clone(name), strings.Clone(value))
}
