package compaction

// Defaults of Prometheus v0.316, in milliseconds.
const (
	// DefaultMinBlockDuration is tsdb.DefaultBlockDuration, used when
	// --storage.tsdb.min-block-duration is not positive.
	DefaultMinBlockDuration = int64(2 * 60 * 60 * 1000)
	// MaxDefaultMaxBlockDuration caps the derived maximum block duration
	// (cmd/prometheus: "31d").
	MaxDefaultMaxBlockDuration = int64(31 * 24 * 60 * 60 * 1000)
)

// ExponentialRanges is tsdb.ExponentialBlockRanges: steps ranges starting at
// minSize, each stepSize times the previous one.
func ExponentialRanges(minSize int64, steps, stepSize int) []int64 {
	res := make([]int64, 0, max(steps, 0))
	r := minSize
	for i := 0; i < steps; i++ {
		res = append(res, r)
		r *= int64(stepSize)
	}
	return res
}

// DefaultMaxBlockDuration is the maximum block duration cmd/prometheus uses
// when --storage.tsdb.max-block-duration is unset: 10% of the time retention
// (integer division), at most 31d; 31d when there is no time retention
// (retention <= 0: Prometheus turns a negative retention into 100y).
//
// retention is the effective one: Prometheus defaults it to 15d when neither
// time nor size retention is given, which this function does not do.
func DefaultMaxBlockDuration(retention int64) int64 {
	if retention > 0 && retention/10 < MaxDefaultMaxBlockDuration {
		return retention / 10
	}
	return MaxDefaultMaxBlockDuration
}

// Ranges returns the compaction ranges Prometheus v0.316 uses for the given
// flags, all in ms: minBlock = --storage.tsdb.min-block-duration (not
// positive: DefaultMinBlockDuration), maxBlock =
// --storage.tsdb.max-block-duration (0: DefaultMaxBlockDuration(retention)).
// The result is ExponentialRanges(minBlock, 10, 3) cut before the first range
// above maxBlock.
//
// When maxBlock < minBlock (including a negative maxBlock) Prometheus raises
// the maximum to the minimum (tsdb.validateOpts), so the result is the single
// range [minBlock] and no leveled compaction happens; it is never empty.
func Ranges(minBlock, maxBlock, retention int64) []int64 {
	if minBlock <= 0 {
		minBlock = DefaultMinBlockDuration
	}
	if maxBlock == 0 {
		maxBlock = DefaultMaxBlockDuration(retention)
	}
	maxBlock = max(maxBlock, minBlock)
	rngs := ExponentialRanges(minBlock, 10, 3)
	for i, r := range rngs {
		if r > maxBlock {
			return rngs[:i]
		}
	}
	return rngs
}
