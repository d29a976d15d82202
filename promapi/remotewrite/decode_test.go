package remotewrite

import (
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"
)

func TestDecodeV1MatchesUpstream(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ours v1Request // reused across requests, as the handler does
	for i := range 2000 {
		req := randV1(rng)
		b, err := req.Marshal()
		require.NoError(t, err)
		var up prompb.WriteRequest
		require.NoError(t, up.Unmarshal(b))
		require.NoError(t, ours.decode(b), "request %d", i)
		requireSameV1(t, &ours, &up)
	}
}

func TestDecodeV2MatchesUpstream(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var ours v2Request
	for i := range 2000 {
		req := randV2(rng)
		b, err := req.Marshal()
		require.NoError(t, err)
		var up writev2.Request
		require.NoError(t, up.Unmarshal(b))
		require.NoError(t, ours.decode(b), "request %d", i)
		requireSameV2(t, &ours, &up)
	}
}

// TestDecodeTruncated checks that every prefix of a valid request is accepted
// or refused exactly as upstream does, and decoded identically when accepted.
func TestDecodeTruncated(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 30 {
		b1, err := randV1(rng).Marshal()
		require.NoError(t, err)
		b2, err := randV2(rng).Marshal()
		require.NoError(t, err)
		for n := 0; n <= len(b1); n++ {
			checkV1(t, b1[:n])
		}
		for n := 0; n <= len(b2); n++ {
			checkV2(t, b2[:n])
		}
	}
}

func checkV1(t testing.TB, b []byte) {
	t.Helper()
	var up prompb.WriteRequest
	upErr := up.Unmarshal(b)
	var ours v1Request
	ourErr := ours.decode(b)
	if (upErr == nil) != (ourErr == nil) {
		t.Fatalf("upstream error %v, ours %v, input %x", upErr, ourErr, b)
	}
	if upErr == nil {
		requireSameV1(t, &ours, &up)
	}
}

func checkV2(t testing.TB, b []byte) {
	t.Helper()
	var up writev2.Request
	upErr := up.Unmarshal(b)
	var ours v2Request
	ourErr := ours.decode(b)
	if (upErr == nil) != (ourErr == nil) {
		t.Fatalf("upstream error %v, ours %v, input %x", upErr, ourErr, b)
	}
	if upErr == nil {
		requireSameV2(t, &ours, &up)
	}
}
