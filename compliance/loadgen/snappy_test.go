package loadgen

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/golang/snappy"
)

// checkPatchable compresses src with the given regions, overwrites every
// region in both src and the compressed block with fresh bytes, and checks the
// block decodes (with the upstream snappy decoder) to the changed src.
func checkPatchable(t *testing.T, src []byte, regions []region, rnd *rand.Rand) {
	t.Helper()
	enc, offs, err := encodePatchable([]byte{}, src, regions)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		for k, r := range regions {
			for j := range r.len {
				c := byte(rnd.Uint32())
				src[r.off+j] = c
				enc[int(offs[k])+j] = c
			}
		}
		got, err := snappy.Decode(nil, enc)
		if err != nil {
			t.Fatalf("round %d: decode: %v", round, err)
		}
		if !bytes.Equal(got, src) {
			t.Fatalf("round %d: decoded %d bytes differ from the %d patched source bytes", round, len(got), len(src))
		}
	}
}

// regionsFrom derives sorted, disjoint regions from a seed.
func regionsFrom(n int, seed uint64) []region {
	rnd := rand.New(rand.NewPCG(seed, 1))
	var out []region
	for off := 0; off < n; {
		off += rnd.IntN(200)
		l := 1 + rnd.IntN(20)
		if off+l > n {
			break
		}
		out = append(out, region{off, l})
		off += l
	}
	return out
}

func TestPatchableSnappyRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	// Repetitive input (like label sets) with and without regions, long runs,
	// matches longer than 64 bytes, offsets near 64 KiB and incompressible data.
	rep := bytes.Repeat([]byte("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} "), 4000)
	random := make([]byte, 70_000)
	for i := range random {
		random[i] = byte(rnd.Uint32())
	}
	far := append(append(append([]byte{}, random[:100]...), random[100:65_600]...), random[:100]...)
	for name, src := range map[string][]byte{"repetitive": rep, "random": random, "far": far,
		"zeros": make([]byte, 10_000), "tiny": []byte("ab"), "empty": {}} {
		t.Run(name, func(t *testing.T) {
			checkPatchable(t, bytes.Clone(src), nil, rnd)
			checkPatchable(t, bytes.Clone(src), regionsFrom(len(src), 7), rnd)
		})
	}
	if got, _, _ := encodePatchable(nil, rep, nil); len(got) > len(rep)/10 {
		t.Fatalf("repetitive input compressed to %d of %d bytes", len(got), len(rep))
	}
}

func TestPatchableSnappyRejectsBadRegions(t *testing.T) {
	src := make([]byte, 100)
	for _, rs := range [][]region{{{90, 20}}, {{10, 5}, {12, 3}}, {{5, 0}}, {{-1, 2}}} {
		if _, _, err := encodePatchable(nil, src, rs); err == nil {
			t.Errorf("regions %v accepted", rs)
		}
	}
}

func FuzzPatchableSnappy(f *testing.F) {
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), uint64(1))
	f.Add(bytes.Repeat([]byte("job=node instance=10.0.0.1:9100 "), 50), uint64(2))
	f.Add([]byte{}, uint64(3))
	f.Fuzz(func(t *testing.T, src []byte, seed uint64) {
		checkPatchable(t, src, regionsFrom(len(src), seed), rand.New(rand.NewPCG(seed, 3)))
	})
}
