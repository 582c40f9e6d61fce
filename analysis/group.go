package analysis

import (
	"math"
	"time"

	"github.com/leakscope/leakscope/snapshot"
	"github.com/leakscope/leakscope/symbolize"
)

// point is one group's value at one observation.
type point struct {
	old     float64 // estimated old live bytes (age >= K)
	allocs  float64 // sampled allocations since attach
	liveOld uint32  // sampled live objects, age >= K
	// liveGE[i] counts sampled live objects of age >= ageEdges()[i].
	liveGE [numEdges]uint32
	// freed is the cumulative freed-age histogram of sampled objects.
	freed [snapshot.AgeBuckets]uint64
	// live is every sampled live object, of any age, and liveBytes
	// their scaled bytes; exposure is the sum over them of the GC
	// cycles each survived (capped at 63): the collections that could
	// have freed them. For the survival evidence (see assess).
	live      uint32
	liveBytes float64
	exposure  float64
}

// liveAtLeast returns the live count at age >= a, for a = k or one of
// ageEdges (what overdueAge returns).
func (p point) liveAtLeast(a, k int) float64 {
	if a == k {
		return float64(p.liveOld)
	}
	for i, e := range ageEdges() {
		if e == a {
			return float64(p.liveGE[i])
		}
	}
	return 0
}

// current is a group's state at the latest snapshot.
type current struct {
	liveObjects, liveBytes   int64 // scaled
	allocObjects, allocBytes int64 // scaled
	ageSum                   float64
	allocs, frees            uint64 // sampled
	ages                     ageHist
	pt                       point
}

// group is every stack sharing the frames from the first frame outside
// the runtime outward: what the detector judges. Groups with the same
// leak site (siteKey) make one Suspect.
type group struct {
	frames []symbolize.Frame // from the first frame outside the runtime outward
	site   int               // index in frames of the leak site (userSite)
	key    string            // siteKey of frames[site:]
	ids    []int32

	// pts holds this group's points from sequence number start on; the
	// points before start hold nothing old and no old object was freed
	// before them (their allocs are unknown), so stacks that never hold
	// an old object cost no history.
	start uint64
	pts   []point

	cur current

	verdict   Verdict
	evidence  Evidence
	score     float64
	firstLeak time.Time
	// held is the verdict from before the sampling rate moved, kept
	// while the new evidence is weaker (Target.applyHold).
	held *heldVerdict
}

// accumulate adds one stack's stats to the group's current state.
// With weighted (snapshot.Snapshot.RateRef set), the tracer's per-sample
// estimates replace the scaling at one rate, and LiveAges counts the
// samples kept at the reference rate.
func (g *group) accumulate(st *snapshot.StackStats, rate int64, weighted bool, k int) {
	c := &g.cur
	lo, lb := scaled(st.LiveObjects, st.LiveBytes, rate)
	ao, ab := scaled(st.Allocs, st.AllocBytes, rate)
	if weighted {
		// Each sample already scaled with the rate it was taken at.
		lo, lb = int64(st.LiveEstObjects), int64(st.LiveEstBytes)
		ao, ab = int64(st.AllocEstObjects), int64(st.AllocEstBytes)
	}
	c.liveObjects += lo
	c.liveBytes += lb
	c.allocObjects += ao
	c.allocBytes += ab
	c.allocs += st.Allocs
	c.frees += st.Frees

	var h ageHist
	h.add(st)
	c.ages.merge(&h)
	// Object scale for the age sum, so AgeGCCycles/LiveObjects is a mean.
	liveScale := scaleFactor(st.LiveObjects, st.LiveBytes, rate)
	if n := h.liveAtLeast(0); weighted && n > 0 {
		liveScale = st.LiveEstObjects / float64(n) // objects per kept sample
	}
	c.ageSum += float64(h.ageSum()) * liveScale
	// Only counts are known per age; old bytes assume the stack's old
	// objects have its average live size (one call site, usually one size).
	if total, old := h.liveAtLeast(0), h.liveAtLeast(k); total > 0 {
		c.pt.old += float64(lb) * float64(old) / float64(total)
	}
	c.pt.liveBytes += float64(lb)
}

// record appends the current point to the series at sequence seq.
func (g *group) record(seq uint64, k int) {
	p := &g.cur.pt
	a := &g.cur.ages
	p.allocs = float64(g.cur.allocs)
	p.liveOld = uint32(a.liveAtLeast(k))
	for i, e := range ageEdges() {
		p.liveGE[i] = uint32(a.liveAtLeast(e))
	}
	p.freed = a.freed
	p.live = uint32(a.liveAtLeast(0))
	p.exposure = float64(a.ageSum())
	if len(g.pts) == 0 {
		// Nothing to record until the group holds a live object or
		// freed an old one: stacks of young garbage seen between
		// collections cost one point per snapshot they are live in.
		if p.live == 0 && p.old == 0 && a.freedAtLeast(k) == 0 {
			return
		}
		g.start = seq
	}
	g.pts = append(g.pts, *p)
}

// trim drops points before sequence number base.
func (g *group) trim(base uint64) {
	if len(g.pts) == 0 || base <= g.start {
		return
	}
	d := min(base-g.start, uint64(len(g.pts)))
	g.pts = g.pts[d:]
	g.start += d
}

// at returns the point at sequence number seq.
func (g *group) at(seq uint64) point {
	if len(g.pts) == 0 || seq < g.start {
		return point{}
	}
	return g.pts[seq-g.start]
}

// window builds the detector input from the target's history at the
// observations idx (history.points); usual is the age (GC cycles) by which
// this group's objects usually die (usualFreeAge): live objects older than
// overdueFactor times that are overdue. With sinceAttach the window starts
// at attach (time attach, GC count 0) where every count was zero.
func (g *group) window(h *history, idx []int, k int, usual float64, attach time.Time, sinceAttach bool) window {
	first, last := h.obs[0], h.obs[len(h.obs)-1]
	start, startGC := first.t, first.gc
	if sinceAttach {
		start, startGC = attach, 0
	}
	w := window{
		t:           make([]float64, len(idx)),
		old:         make([]float64, len(idx)),
		oldCount:    make([]float64, len(idx)),
		spanSeconds: last.t.Sub(start).Seconds(),
		spanGC:      last.gc - startGC,
		sinceAttach: sinceAttach,
	}
	// Frees over the window, by age: the overdue age is raised until at
	// most maxOverdueDeaths of them are that old.
	var freed [snapshot.AgeBuckets]uint64
	lastPt, firstPt := g.at(h.base+uint64(len(h.obs)-1)), point{}
	if !sinceAttach {
		firstPt = g.at(h.base)
	}
	for b := range freed {
		freed[b] = lastPt.freed[b] - min(firstPt.freed[b], lastPt.freed[b])
	}
	due := overdueFactor * usual
	if usual <= liveAgeSlots-1 {
		// When overdueFactor times the usual age is past the saturated
		// slot but the usual age is not, the slot's exact count (objects
		// older than the usual age), with its frees counted, beats a
		// bound from allocation counts that, under churn, says nothing.
		due = math.Min(due, liveAgeSlots-1)
	}
	w.overdueAge = overdueThreshold(due, k, &freed)
	w.dueSpanSeconds, w.dueSpanGC = w.spanSeconds, float64(w.spanGC)
	if sinceAttach && !math.IsInf(w.overdueAge, 1) && w.spanGC > 0 {
		// Nothing can be overdue before the overdue age's worth of
		// collections since attach: the overdue series starts then, at
		// zero.
		// (Counting from the attach itself would let a cache that
		// stopped filling look as if it still grew, that much later.)
		delay := gcTime(h, attach, w.overdueAge).Sub(start).Seconds()
		w.dueSpanSeconds -= delay
		w.dueSpanGC -= w.overdueAge
		w.overdueT = append(w.overdueT, delay)
		w.overdue = append(w.overdue, 0)
		w.overdueDeaths = append(w.overdueDeaths, 0)
	}
	g.liveSeries(h, &w, start, lastPt, firstPt)
	// When ages saturate: the overdue age and the saturation age in
	// seconds, at the window's mean collection rate.
	edge, resolved := overdueAge(w.overdueAge, k)
	deathAge := w.overdueAge
	if resolved {
		deathAge = float64(edge)
	}
	dueSec, satSec := math.Inf(1), 0.0
	if !resolved && w.spanGC > 0 {
		dueSec = w.overdueAge * w.spanSeconds / float64(w.spanGC)
		satSec = (liveAgeSlots - 1) * w.spanSeconds / float64(w.spanGC)
	}
	for i, j := range idx {
		p := g.at(h.base + uint64(j))
		ti := h.obs[j].t.Sub(start).Seconds()
		w.t[i], w.old[i], w.oldCount[i] = ti, p.old, float64(p.liveOld)
		var due float64
		switch {
		case resolved:
			due = p.liveAtLeast(edge, k)
		case !math.IsInf(dueSec, 1):
			// A live object in the saturated slot that is younger than
			// dueSec was allocated between dueSec and satSec ago: what
			// the slot holds beyond that many is overdue. (A lower
			// bound, loose when many objects are allocated in that
			// span: a histogram of live objects by allocation time
			// would make it exact.)
			young := 0.0
			if dueSec > satSec {
				a0, ok0 := g.allocsAt(h, j, dueSec)
				a1, ok1 := g.allocsAt(h, j, satSec)
				if !ok0 || !ok1 {
					continue
				}
				young = a1 - a0
			}
			due = math.Max(0, float64(p.liveGE[numEdges-1])-young)
		default:
			continue
		}
		if n := len(w.overdueT); n > 0 && ti <= w.overdueT[n-1] {
			continue // not after the start of the overdue series
		}
		w.overdueT = append(w.overdueT, ti)
		w.overdue = append(w.overdue, due)
		w.overdueDeaths = append(w.overdueDeaths, freedAtLeastHist(&p.freed, deathAge))
	}
	return w
}

// liveSeries fills the survival evidence and the live series of w: every
// snapshot of the window (thinned to maxTrendPoints), from the attach
// (every count zero) with sinceAttach. Unlike old objects, live ones
// change between collections: their growth is seen snapshot by snapshot
// even in a process that collects every two minutes.
func (g *group) liveSeries(h *history, w *window, start time.Time, lastPt, firstPt point) {
	w.survivors = float64(lastPt.liveGE[0]) // age >= 1
	w.exposure = lastPt.exposure
	w.survivorDeaths = math.Max(0, freedAtLeastHist(&lastPt.freed, 1)-freedAtLeastHist(&firstPt.freed, 1))
	n := len(h.obs)
	if w.sinceAttach {
		w.liveT = append(w.liveT, 0)
		w.live = append(w.live, 0)
		w.liveBytes = append(w.liveBytes, 0)
	}
	step := max(1, (n+maxTrendPoints-1)/maxTrendPoints)
	for j := 0; j < n; j++ {
		if j%step != 0 && j != n-1 {
			continue
		}
		p := g.at(h.base + uint64(j))
		w.liveT = append(w.liveT, h.obs[j].t.Sub(start).Seconds())
		w.live = append(w.live, float64(p.live))
		w.liveBytes = append(w.liveBytes, p.liveBytes)
	}
}

// gcTime estimates when the GC count since attach reached n: linearly
// between the two observations around it (the attach being one, at 0);
// the last observation if it never did.
func gcTime(h *history, attach time.Time, n float64) time.Time {
	prevT, prevGC := attach, 0.0
	for _, o := range h.obs {
		gc := float64(o.gc)
		if gc >= n {
			if gc == prevGC {
				return o.t
			}
			f := (n - prevGC) / (gc - prevGC)
			return prevT.Add(time.Duration(f * float64(o.t.Sub(prevT))))
		}
		prevT, prevGC = o.t, gc
	}
	return h.obs[len(h.obs)-1].t
}

// maxOverdueDeaths is how many of a window's frees may be overdue: the
// overdue age is raised past stragglers (for lifetimes with an exponential
// tail, each doubling of the age squares the share that reach it), so
// that the accumulation test meets few deaths of ordinary objects, which
// would otherwise dilute a leak among thousands of churn frees.
const maxOverdueDeaths = 1

// overdueThreshold returns the overdue age in GC cycles: the least age at
// or above base (and k) at which live counts are kept (an ageEdge, or
// any age past the saturated slot) and at or above which at most
// maxOverdueDeaths of the frees in freed died (but no more than the
// saturated slot when base is below it); +Inf if none is.
func overdueThreshold(base float64, k int, freed *[snapshot.AgeBuckets]uint64) float64 {
	base = math.Max(base, float64(k))
	if math.IsInf(base, 1) {
		return base
	}
	if freedAtLeastHist(freed, base) <= maxOverdueDeaths {
		if e, ok := overdueAge(base, k); ok {
			return float64(e) // same deaths: none between base and e
		}
		return base
	}
	if base <= liveAgeSlots-1 {
		for _, e := range ageEdges() {
			if float64(e) >= base && freedAtLeastHist(freed, float64(e)) <= maxOverdueDeaths {
				return float64(e)
			}
		}
		// Not past the saturated slot: its exact count with a few deaths
		// beats a bound computed from allocation counts, noisy under
		// heavy churn.
		return liveAgeSlots - 1
	}
	// Past the saturated slot: bisect the age (the count at or above an
	// age only falls with it).
	lo, hi := math.Max(base, liveAgeSlots-1), math.Ldexp(1, snapshot.AgeBuckets)
	if freedAtLeastHist(freed, hi) > maxOverdueDeaths {
		return math.Inf(1)
	}
	for range 40 {
		mid := (lo + hi) / 2
		if freedAtLeastHist(freed, mid) > maxOverdueDeaths {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// allocsAt estimates the group's cumulative sampled allocations d seconds
// before observation j, interpolating linearly between observations; ok
// is false when that reaches before the window or the group's series.
func (g *group) allocsAt(h *history, j int, d float64) (float64, bool) {
	at := h.obs[j].t.Add(-time.Duration(d * float64(time.Second)))
	for i := j; i >= 0; i-- {
		if h.base+uint64(i) < g.start || len(g.pts) == 0 {
			return 0, false
		}
		o := h.obs[i]
		if o.t.After(at) {
			continue
		}
		a0 := g.at(h.base + uint64(i)).allocs
		if i == j || o.t.Equal(at) {
			return a0, true
		}
		next := h.obs[i+1]
		a1 := g.at(h.base + uint64(i+1)).allocs
		f := at.Sub(o.t).Seconds() / next.t.Sub(o.t).Seconds()
		return a0 + f*(a1-a0), true
	}
	return 0, false
}
