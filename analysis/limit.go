package analysis

import (
	"math"
	"time"
)

// detectSamples is the expected number of a leak's sampled objects the
// detector needs within its evidence to name it with 95% probability:
// the accumulation test needs 5 overdue samples and no death (2^-5 <
// Alpha 0.04), and a Poisson count of mean 9.15 reaches 5 with
// probability 0.95 (README: ~90 KiB/s within 60 s at 512 KiB).
const detectSamples = 9.15

// overdueDelay is the least time from a leak's first allocation to its
// objects counting as overdue, at the default K and with GC several
// times a second (the fast-GC case of Config.MinWindow); programs that
// collect rarely need much longer (Config.MinWindowGC).
const overdueDelay = 10 * time.Second

// DetectionLimit is the smallest leak, in bytes per second, that the
// detector can name within d of its start at MemProfileRate rate, with
// the default Config and frequent GC: it must bring detectSamples sampled
// objects into the overdue series, which spans d less overdueDelay and at
// least DefaultMinWindow. A leak of small objects (much smaller than the
// rate) is sampled once per rate bytes; larger objects are sampled more
// often, so the limit holds for them too. +Inf when d is too short for
// any leak or sampling is off.
//
// It restates the detector's rule (assess): re-derive it when that rule
// changes.
func DetectionLimit(rate int64, d time.Duration) float64 {
	span := d - overdueDelay
	if rate <= 0 || span < DefaultMinWindow {
		return math.Inf(1)
	}
	return detectSamples * float64(rate) / span.Seconds()
}
