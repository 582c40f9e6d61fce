package tracer

import (
	"math"

	"golang.org/x/sys/unix"

	"github.com/leakscope/leakscope/snapshot"
)

// rateEpoch is one MemProfileRate in force in a target from a moment on.
type rateEpoch struct {
	fromNS uint64 // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns
	rate   int64
}

// rateTimeline is the rates a target has sampled at since attach, in time
// order. Each live sample carries its allocation time (live_val.time_ns),
// so its rate is found here: the kernel side stays exactly as cheap when
// the rate moves (no epoch to look up and store per sample).
type rateTimeline []rateEpoch

// at returns the rate in force at ns.
func (tl rateTimeline) at(ns uint64) int64 {
	r := tl[0].rate
	for _, e := range tl[1:] {
		if e.fromNS > ns {
			break
		}
		r = e.rate
	}
	return r
}

// ref is the rate the detector's counts are kept at: the highest of the
// current rate and the rates of the samples still live at the last read
// (live; nil: every rate of the timeline). A rate none of whose samples
// is live any more cannot come back, so once a burst's samples have all
// died the counts return to the current rate. 0 while the timeline holds
// one rate.
func (tl rateTimeline) ref(live map[int64]bool) int64 {
	if len(tl) < 2 {
		return 0
	}
	m := tl[len(tl)-1].rate
	for _, e := range tl {
		if live == nil || live[e.rate] {
			m = max(m, e.rate)
		}
	}
	return m
}

// MonotonicNS is the time now on the clock the probes stamp samples with.
func MonotonicNS() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) // cannot fail for this clock
	return uint64(ts.Nano())
}

// RateInForce records that the target samples at rate from fromNS on
// (MonotonicNS, taken just before the write). The first call gives the
// rate at attach; later ones are changes, by leakscope or the target.
// Samples are then scaled with the rate of their own time, and counted
// for the detector at the highest rate seen (see snapshot.Snapshot.RateRef).
func (a *Attachment) RateInForce(rate int64, fromNS uint64) {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	if n := len(a.rates); n > 0 {
		if a.rates[n-1].rate == rate {
			return
		}
		fromNS = max(fromNS, a.rates[n-1].fromNS)
	}
	a.rates = append(a.rates, rateEpoch{fromNS: fromNS, rate: rate})
}

// timelines copies the rate timeline of each target that has one, and
// returns each one's reference rate (rateTimeline.ref).
func (t *Tracer) timelines() (map[uint32]rateTimeline, map[uint32]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out, refs := map[uint32]rateTimeline{}, map[uint32]int64{}
	for pid, a := range t.targets {
		if len(a.rates) > 0 {
			out[pid] = append(rateTimeline(nil), a.rates...)
			refs[pid] = a.rates.ref(a.liveRates)
		}
	}
	return out, refs
}

// noteLiveRates records, per target, the rates its live samples were
// taken at in this read.
func (t *Tracer) noteLiveRates(seen map[uint32]map[int64]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for pid, rates := range seen {
		if a := t.targets[pid]; a != nil {
			a.liveRates = rates
		}
	}
}

// keepSample says whether a sample taken at rate r is kept in the counts
// at the reference rate ref >= r: with probability r/ref (the ratio of
// the sampling probabilities of an object much smaller than the rates;
// for larger ones it keeps fewer, erring towards less evidence), decided
// by a hash of the object's address and allocation time, so an object is
// kept or not for its whole life.
func keepSample(addr, timeNS uint64, r, ref int64) bool {
	if r >= ref || ref <= 0 {
		return true
	}
	h := addr*0x9e3779b97f4a7c15 ^ timeNS
	// splitmix64's finaliser
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return float64(h>>11)/(1<<53) < float64(r)/float64(ref)
}

// liveByRate counts one bucket's live samples per rate they were taken
// at, to weigh them once the bucket's size is known.
type liveByRate map[int64]uint64

// estimate is the number of objects the samples stand for.
func (l liveByRate) estimate(size uint64) float64 {
	var est float64
	for r, n := range l {
		est += float64(n) * snapshot.SampleWeight(float64(size), r)
	}
	return est
}

// allocEstimate accumulates one bucket's sampled allocations scaled with
// the rate in force when the tracer saw them (at snapshot resolution:
// allocations are counted, not stamped, in the kernel).
type allocEstimate struct {
	seen uint64  // sampled allocations accounted for
	est  float64 // objects they stand for
}

func (a *allocEstimate) add(allocs, size uint64, rate int64) {
	if allocs < a.seen || math.IsNaN(a.est) {
		*a = allocEstimate{}
	}
	a.est += float64(allocs-a.seen) * snapshot.SampleWeight(float64(size), rate)
	a.seen = allocs
}
