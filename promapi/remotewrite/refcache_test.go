package remotewrite

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// TestSeriesKeyMatchesLabels checks the cache-hit verification against the
// plain pairwise comparison, including strings of 255 bytes and more.
func TestSeriesKeyMatchesLabels(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	strs := []string{"", "a", "__name__", "b", strings.Repeat("x", 254), strings.Repeat("y", 255), strings.Repeat("z", 70000), "日本"}
	var key, scratch []byte
	for range 5000 {
		var pairs []bytesLabel
		for range rng.IntN(5) {
			pairs = append(pairs, bytesLabel{strs[rng.IntN(len(strs))], strs[rng.IntN(len(strs))]})
		}
		b := labels.NewScratchBuilder(0)
		for _, p := range pairs {
			b.Add(p.name, p.value)
		}
		if rng.IntN(2) == 0 {
			b.Sort()
		}
		ls := b.Labels()
		key = seriesKey(key, pairs)
		require.Equal(t, equalPairs(ls, pairs), labelsEqualKey(ls, key, &scratch, pairs), "%v vs %v", ls, pairs)
	}
}

func TestRefCacheBounded(t *testing.T) {
	c := newRefCache(128)
	for i := range uint64(10000) {
		c.put(i, refEntry{ref: 1})
	}
	require.LessOrEqual(t, c.len(), 128)
	c.put(7, refEntry{ref: 9})
	e, ok := c.get(7)
	require.True(t, ok)
	require.EqualValues(t, 9, e.ref)
	c.drop(7)
	_, ok = c.get(7)
	require.False(t, ok)
}
