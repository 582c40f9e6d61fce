package analysis

import "github.com/leakscope/leakscope/snapshot"

// scaleFactor returns the multiplier that turns sampled object counts and
// bytes into estimates of the true heap, with the formula runtime/pprof
// uses (protomem.go, scaleHeapSample): an object of average size s is
// sampled with probability 1-exp(-s/rate), so both count and bytes are
// divided by that probability. The runtime applies the same factor to
// both; so do we. rate <= 1 means every allocation was sampled.
func scaleFactor(count, bytes uint64, rate int64) float64 {
	if count == 0 || bytes == 0 || rate <= 1 {
		return 1
	}
	return snapshot.SampleWeight(float64(bytes)/float64(count), rate)
}

// scaled returns count and bytes scaled as runtime/pprof would.
func scaled(count, bytes uint64, rate int64) (int64, int64) {
	if count == 0 || bytes == 0 {
		return 0, 0
	}
	f := scaleFactor(count, bytes, rate)
	return int64(float64(count) * f), int64(float64(bytes) * f)
}
