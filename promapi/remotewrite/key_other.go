//go:build slicelabels || dedupelabels

package remotewrite

import (
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// labelsEqualKey reports whether ls holds exactly pairs, in order.
func labelsEqualKey(ls labels.Labels, _ []byte, _ *[]byte, pairs []bytesLabel) bool {
	return equalPairs(ls, pairs)
}

// addLabel adds a pair whose strings alias the request buffer; slicelabels
// and dedupelabels keep the strings they are given, so they are cloned.
func addLabel(b *labels.ScratchBuilder, name, value string) {
	b.Add(strings.Clone(name), strings.Clone(value))
}
