//go:build slicelabels || dedupelabels

package wal

import "github.com/prometheus/prometheus/model/labels"

// addLabel adds a label whose bytes alias a record. These label
// implementations keep the strings they are given, so copy them.
func addLabel(b *labels.ScratchBuilder, name, value []byte) {
	b.Add(string(name), string(value))
}
