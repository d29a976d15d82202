//go:build !slicelabels && !dedupelabels

package remotewrite

import (
	"bytes"

	"github.com/prometheus/prometheus/model/labels"
)

// labelsEqualKey reports whether ls holds exactly the pairs whose seriesKey
// is key. With stringlabels, Labels.Bytes is that very encoding.
func labelsEqualKey(ls labels.Labels, key []byte, scratch *[]byte, _ []bytesLabel) bool {
	*scratch = ls.Bytes((*scratch)[:0])
	return bytes.Equal(*scratch, key)
}

// addLabel adds a pair whose strings alias the request buffer. With
// stringlabels, ScratchBuilder.Labels copies them, so no clone is needed.
func addLabel(b *labels.ScratchBuilder, name, value string) { b.Add(name, value) }
