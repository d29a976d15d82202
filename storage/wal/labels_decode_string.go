//go:build !slicelabels && !dedupelabels

package wal

import (
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
)

// addLabel adds a label whose bytes alias a record. With the default
// stringlabels implementation ScratchBuilder.Labels copies every byte into
// one new string, so the unsafe strings never outlive the call.
func addLabel(b *labels.ScratchBuilder, name, value []byte) {
	b.Add(unsafe.String(unsafe.SliceData(name), len(name)), unsafe.String(unsafe.SliceData(value), len(value)))
}
