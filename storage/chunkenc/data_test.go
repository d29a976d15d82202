package chunkenc

import (
	"math"
	"math/rand/v2"
)

// Realistic sample sequences, as scrapes of node_exporter-like targets
// produce them: 15 s intervals, with or without a few ms of jitter.

type dataKind struct {
	name string
	gen  func(r *rand.Rand, n int) ([]int64, []float64)
}

const scrapeInterval = 15_000

func scrapeTimes(r *rand.Rand, n int, jitterMs int) []int64 {
	ts := make([]int64, n)
	t := int64(1_700_000_000_000 + r.IntN(scrapeInterval))
	for i := range ts {
		j := int64(0)
		if jitterMs > 0 {
			j = int64(r.IntN(2*jitterMs+1) - jitterMs)
		}
		ts[i] = t + int64(i)*scrapeInterval + j
	}
	return ts
}

var dataKinds = []dataKind{
	{"counter", func(r *rand.Rand, n int) ([]int64, []float64) {
		// node_cpu_seconds_total-like in ms, or bytes counters: uneven increments.
		vs := make([]float64, n)
		v := float64(r.IntN(1 << 30))
		for i := range vs {
			if r.IntN(8) != 0 {
				v += float64(r.IntN(2000))
			}
			vs[i] = v
		}
		return scrapeTimes(r, n, 5), vs
	}},
	{"gauge2dec", func(r *rand.Rand, n int) ([]int64, []float64) {
		// Temperatures, load averages: a random walk shown with two decimals,
		// parsed from text as the scrape does (k/100 is the nearest double).
		vs := make([]float64, n)
		k := int64(r.IntN(10000))
		for i := range vs {
			k += int64(r.IntN(61) - 30)
			vs[i] = float64(k) / 100
		}
		return scrapeTimes(r, n, 5), vs
	}},
	{"fullprec", func(r *rand.Rand, n int) ([]int64, []float64) {
		// Ratios and rates computed by the exporter: every bit significant.
		vs := make([]float64, n)
		v := r.Float64() * 1000
		for i := range vs {
			v += r.NormFloat64()
			vs[i] = v
		}
		return scrapeTimes(r, n, 5), vs
	}},
	{"constant", func(r *rand.Rand, n int) ([]int64, []float64) {
		// up, *_info and config gauges.
		vs := make([]float64, n)
		for i := range vs {
			vs[i] = 1
		}
		return scrapeTimes(r, n, 0), vs
	}},
	{"regular-counter", func(r *rand.Rand, n int) ([]int64, []float64) {
		// A counter scraped without jitter (e.g. by a Prometheus with
		// timestamp alignment): timestamps should cost nothing.
		vs := make([]float64, n)
		v := float64(r.IntN(1000))
		for i := range vs {
			v += float64(r.IntN(100))
			vs[i] = v
		}
		return scrapeTimes(r, n, 0), vs
	}},
	{"line-counter", func(r *rand.Rand, n int) ([]int64, []float64) {
		// A counter at a steady rate whose scrape sees a little more or
		// less of the last interval: values jitter around a line, so
		// residuals from it are narrower than deltas.
		vs := make([]float64, n)
		v0, rate := float64(r.IntN(1<<30)), 700+r.IntN(300)
		for i := range vs {
			vs[i] = v0 + float64(i*rate+r.IntN(rate))
		}
		return scrapeTimes(r, n, 0), vs
	}},
	{"pages", func(r *rand.Rand, n int) ([]int64, []float64) {
		// Memory gauges in bytes, whole 4 KiB pages: integers whose low
		// 12 bits are zero.
		vs := make([]float64, n)
		p := int64(1<<18 + r.IntN(1<<20))
		for i := range vs {
			p += int64(r.IntN(201) - 100)
			vs[i] = float64(p * 4096)
		}
		return scrapeTimes(r, n, 5), vs
	}},
	{"fixed-point", func(r *rand.Rand, n int) ([]int64, []float64) {
		// Uniform values of 53 random bits scaled into [0, 2^k) (make
		// bench's full-precision gauges): every value a multiple of
		// 2^(k-53), which the binary layout stores in 53 bits.
		vs := make([]float64, n)
		k := r.IntN(16)
		for i := range vs {
			vs[i] = float64(r.Uint64()>>11) / (1 << 53) * math.Exp2(float64(k))
		}
		return scrapeTimes(r, n, 5), vs
	}},
	{"specials", func(r *rand.Rand, n int) ([]int64, []float64) {
		// A counter with every float the codec must keep bit for bit mixed in.
		specials := []float64{
			math.Float64frombits(staleNaN), math.NaN(), math.Float64frombits(0x7ff8dead00000001),
			math.Float64frombits(0xfff0000000000001), math.Inf(1), math.Inf(-1),
			math.Copysign(0, -1), 0, math.SmallestNonzeroFloat64, 2.2250738585072e-308,
			math.MaxFloat64, -math.MaxFloat64, 0.1, 1e300, 1e-300,
		}
		vs := make([]float64, n)
		v := 0.0
		for i := range vs {
			v += float64(r.IntN(10))
			vs[i] = v
			if r.IntN(5) == 0 {
				vs[i] = specials[r.IntN(len(specials))]
			}
		}
		return scrapeTimes(r, n, 2), vs
	}},
}

// staleNaN is Prometheus's stale marker (model/value.StaleNaN).
const staleNaN = 0x7ff0000000000002

// mixWeights is the benchmark mix of FACTS.md: half integer counters, a
// quarter 2-decimal gauges, a quarter full-precision gauges.
var mixWeights = map[string]float64{"counter": 0.5, "gauge2dec": 0.25, "fullprec": 0.25}

func kindByName(name string) dataKind {
	for _, k := range dataKinds {
		if k.name == name {
			return k
		}
	}
	panic(name)
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed+1)) }
