// Package datagen builds the deterministic data set the compliance harness
// writes, byte for byte identically, to the reference Prometheus and to the
// candidate: remote-write requests (protocol 1.0 via prompb and 2.0 via
// writev2, snappy-compressed) holding counters with resets, gauges,
// summaries, classic and native histograms (integer, float, custom buckets,
// schema changes), series that stop (stale markers), gaps, extreme values,
// NaN and ±Inf, many series per metric, unicode label values and metric and
// label names that need UTF-8 quoting.
//
// Every timestamp is relative to a base time (Base) so queries can be written
// relative to it too. All samples lie in [base, base+Span], less than an hour,
// so that a fresh Prometheus head accepts every one of them in order.
// TimeOrderedWrites sends the same samples in time order instead, every
// series in step, for servers that cut their head into short blocks while the
// data arrives.
//
// The package only builds request bodies; it does no HTTP and touches no
// files. Everything is a pure function of the base time.
package datagen

import "time"

const (
	// Step is the interval between two samples of a regular series.
	Step = 15 * time.Second
	// Span is the time covered by the data: samples lie in [base, base+Span].
	Span = 45 * time.Minute
	// Lead is how far before "now" the base lies.
	Lead = 50 * time.Minute
)

// Base returns the base timestamp (ms) for a run started at now: now rounded
// down to the minute, minus Lead.
func Base(now time.Time) int64 {
	return now.Truncate(time.Minute).Add(-Lead).UnixMilli()
}

// Points returns the number of regular sample points in the span.
func Points() int { return int(Span/Step) + 1 }

func ms(d time.Duration) int64 { return d.Milliseconds() }
