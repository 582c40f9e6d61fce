package snapshot

import "math"

// SampleWeight is how many allocations of size bytes one sample stands
// for at MemProfileRate rate: the runtime samples an object of that size
// with probability 1-exp(-size/rate), and runtime/pprof scales by its
// inverse (protomem.go, scaleHeapSample). rate <= 1 samples everything.
func SampleWeight(size float64, rate int64) float64 {
	if size <= 0 || rate <= 1 {
		return 1
	}
	return 1 / (1 - math.Exp(-size/float64(rate)))
}
