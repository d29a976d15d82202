package loadgen

import "math"

// mix is a 64-bit finaliser (splitmix64): cheap, deterministic pseudo-randomness
// from (series, round) without any state.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Value returns the value series i has in round r. Counters never decrease
// from one round to the next (the jitter of a round is below the step).
func Value(i, r int) float64 { return kindValue(SeriesKind(i), i, r) }

// kindValue is the value of series i in round r when it evolves as k
// (k is not a histogram kind).
func kindValue(k Kind, i, r int) float64 {
	s := mix(uint64(i))
	switch k {
	case Counter:
		step := s&1023 + 1                           // per-series rate
		jit := mix(s^uint64(r)) % step               // uneven increments, still monotonic
		return float64(s>>44 + uint64(r)*step + jit) // integer, below 2^53
	case SecondsCounter:
		step := float64(s&4095+1) / 100
		jit := float64(mix(s^uint64(r))&1023) / 1024 * step
		return float64(s>>48) + float64(r)*step + jit
	case Gauge2:
		return float64(mix(s^uint64(r))%1_000_000) / 100
	case GaugeFull:
		return float64(mix(s^uint64(r))>>11) / (1 << 53) * math.Exp2(float64(s&15))
	default: // Constant
		return float64(s >> 40)
	}
}
