package analysis

import (
	"math"

	"github.com/leakscope/leakscope/snapshot"
)

// liveAgeSlots is the length of StackStats.LiveAges; the last slot holds
// every object that survived liveAgeSlots-1 cycles or more.
const liveAgeSlots = 64

// numEdges is the number of ageEdges.
const numEdges = 12

// ageEdges are the ages (GC cycles) at which each point keeps a live
// count, to count overdue objects: the usual free age is rounded up to one
// of them, which overestimates it by at most half. The last is the
// saturated slot: LiveAges cannot tell 63 cycles from more.
func ageEdges() [numEdges]int {
	return [numEdges]int{1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, liveAgeSlots - 1}
}

// usualFreeQuantile picks the "usual" death age: 95% of this stack's old
// freed objects died younger. Not 99%: a few stragglers (a request that
// hung) should not excuse a leak. With fewer than fewFrees old frees the
// 95% quantile is not known, and the level moves towards 1 (the oldest
// death seen) as they get fewer: the first frees of a long-lived working
// set watched for less than its objects' lifetime are all young, and only
// their oldest is a guide to how old such objects get.
const (
	usualFreeQuantile = 0.95
	fewFrees          = 20
)

// overdueFactor: an object is overdue once it has survived this many
// times the usual free age. More than the quantile itself, for two
// reasons. Fewer stragglers of ordinary objects reach it (for lifetimes
// with an exponential tail, 5% pass the 95% quantile, 1.1% 1.5 times
// it; the window's deaths raise it further, see overdueThreshold). And
// only objects born after attach are seen, so frees are censored: a
// population living much longer than the time watched shows free ages
// spread up to that time, with a 95% quantile near 0.78 of it (ages
// weighted towards young); 1.5 times that (1.16) lies beyond any age yet
// reached, so long-lived working sets are not overdue while they warm
// up. Not more: a process whose heap grows (it leaks!) collects ever
// less often, and a leak must be overdue within the first minute's few
// dozen cycles even when its site also frees some objects (a growing
// map's or slice's old backing arrays die young).
const overdueFactor = 1.5

// ageHist is the age information of a group of stacks at one snapshot.
type ageHist struct {
	live  [liveAgeSlots]uint64        // live sampled objects by GC cycles survived
	freed [snapshot.AgeBuckets]uint64 // freed sampled objects, log2 buckets
}

func (h *ageHist) add(s *snapshot.StackStats) {
	for i, n := range s.LiveAges {
		h.live[min(i, liveAgeSlots-1)] += n
	}
	for i, n := range s.FreedAge {
		h.freed[i] += n
	}
}

func (h *ageHist) merge(o *ageHist) {
	for i := range h.live {
		h.live[i] += o.live[i]
	}
	for i := range h.freed {
		h.freed[i] += o.freed[i]
	}
}

// liveAtLeast counts live objects that survived at least a cycles.
func (h *ageHist) liveAtLeast(a int) uint64 {
	var n uint64
	for i := min(max(a, 0), liveAgeSlots-1); i < liveAgeSlots; i++ {
		n += h.live[i]
	}
	return n
}

// medianLive is the median age of the live objects in GC cycles.
func (h *ageHist) medianLive() float64 {
	total := h.liveAtLeast(0)
	if total == 0 {
		return 0
	}
	lo, hi := (total-1)/2, total/2 // 0-based ranks of the middle element(s)
	var seen uint64
	a := -1
	for i, n := range h.live {
		seen += n
		if a < 0 && seen > lo {
			a = i
		}
		if seen > hi {
			return float64(a+i) / 2
		}
	}
	return float64(a)
}

// ageSum is the sum over live objects of GC cycles survived (capped).
func (h *ageHist) ageSum() uint64 {
	var s uint64
	for i, n := range h.live {
		s += uint64(i) * n
	}
	return s
}

// freedBucket returns the age range [lo, hi) of freed-age bucket b.
func freedBucket(b int) (lo, hi float64) {
	switch {
	case b == 0:
		return 0, 1
	case b == snapshot.AgeBuckets-1:
		return math.Ldexp(1, b-1), math.Inf(1)
	default:
		return math.Ldexp(1, b-1), math.Ldexp(1, b)
	}
}

// freedShare is the part of bucket b at age >= a, ages uniform inside it.
func freedShare(b int, a float64) float64 {
	lo, hi := freedBucket(b)
	switch {
	case lo >= a || math.IsInf(hi, 1) && !math.IsInf(a, 1):
		return 1
	case hi <= a:
		return 0
	default:
		return (hi - a) / (hi - lo)
	}
}

// freedAtLeast estimates how many freed objects had survived >= a cycles.
func (h *ageHist) freedAtLeast(a int) float64 {
	return freedAtLeastHist(&h.freed, float64(a))
}

// usualFreeAge returns the age q, in GC cycles, by which this group's
// objects usually die: of its objects that were freed OLD (at age >= k),
// the share usualFreeQuantile (more for few) died younger than q
// (interpolated inside its log2 bucket, ages taken as uniform there).
// Conditioning on old keeps a flood of young churn from the same stack
// from setting q, so a working set mixed with churn is still told apart
// from a leak mixed with churn. It is k when no old object was ever
// freed: nothing shows that they die once old; +Inf when the quantile is
// in the last, unbounded bucket. Objects overdue are those older than
// overdueFactor*q.
func (h *ageHist) usualFreeAge(k int) float64 {
	kf := float64(k)
	total := h.freedAtLeast(k)
	if total < 0.5 {
		return kf
	}
	level := 1 - (1-usualFreeQuantile)*math.Min(1, total/fewFrees)
	want := level * total
	var seen float64
	for b, c := range h.freed {
		in := float64(c) * freedShare(b, kf)
		if in == 0 || seen+in < want {
			seen += in
			continue
		}
		lo, hi := freedBucket(b)
		lo = math.Max(lo, kf)
		return math.Max(kf, lo+(want-seen)/in*(hi-lo))
	}
	return math.Inf(1)
}

// freedAtLeastHist is freedAtLeast for a bare histogram and a fractional
// age: freed objects that had survived >= a cycles.
func freedAtLeastHist(freed *[snapshot.AgeBuckets]uint64, a float64) float64 {
	var n float64
	for b, c := range freed {
		if c != 0 {
			n += float64(c) * freedShare(b, a)
		}
	}
	return n
}

// overdueAge rounds the usual free age q up to an age at which points
// keep live counts: k, or one of ageEdges. ok is false when q is beyond
// the saturated slot.
func overdueAge(q float64, k int) (age int, ok bool) {
	if q <= float64(k) {
		return k, true
	}
	for _, e := range ageEdges() {
		if float64(e) >= q {
			return e, true
		}
	}
	return 0, false
}
