//go:build !slicelabels && !dedupelabels

package remotewrite

import "github.com/prometheus/prometheus/model/labels"

// addLabel adds a pair whose strings alias the request buffer. With
// stringlabels, ScratchBuilder.Labels copies them, so no clone is needed.
func addLabel(b *labels.ScratchBuilder, name, value string) { b.Add(name, value) }
