package analysis

import (
	"math"
	"time"

	"github.com/leakscope/leakscope/symbolize"
	"github.com/leakscope/leakscope/tracer"
)

// point is one group's value at one observation.
type point struct {
	old     float64 // estimated old live bytes (age >= K)
	allocs  float64 // sampled allocations since attach
	liveOld uint32  // sampled live objects, age >= K
	// liveGE[i] counts sampled live objects of age >= ageEdges()[i].
	liveGE [numEdges]uint32
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

// group is every stack sharing the frames from one leak site outward.
type group struct {
	frames []symbolize.Frame // from the leak site outward
	ids    []int32

	// pts holds this group's points from sequence number start on; the
	// points before start hold nothing old (their allocs are unknown), so
	// stacks that never hold an old object cost no history.
	start uint64
	pts   []point

	cur current

	verdict   Verdict
	evidence  Evidence
	score     float64
	firstLeak time.Time
}

// accumulate adds one stack's stats to the group's current state.
func (g *group) accumulate(st *tracer.StackStats, rate int64, k int) {
	c := &g.cur
	lo, lb := scaled(st.LiveObjects, st.LiveBytes, rate)
	ao, ab := scaled(st.Allocs, st.AllocBytes, rate)
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
	c.ageSum += float64(h.ageSum()) * scaleFactor(st.LiveObjects, st.LiveBytes, rate)
	// Only counts are known per age; old bytes assume the stack's old
	// objects have its average live size (one call site, usually one size).
	if total, old := h.liveAtLeast(0), h.liveAtLeast(k); total > 0 {
		c.pt.old += float64(lb) * float64(old) / float64(total)
	}
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
	if len(g.pts) == 0 {
		if p.liveOld == 0 && p.old == 0 {
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
// observations idx (history.points); usual is the age (GC cycles) past
// which objects are overdue (usualFreeAge).
func (g *group) window(h *history, idx []int, k int, usual float64) window {
	first, last := h.obs[0], h.obs[len(h.obs)-1]
	w := window{
		t:           make([]float64, len(idx)),
		old:         make([]float64, len(idx)),
		oldCount:    make([]float64, len(idx)),
		spanSeconds: last.t.Sub(first.t).Seconds(),
		spanGC:      last.gc - first.gc,
	}
	t0 := h.obs[idx[0]].t
	// When ages saturate: the usual free age and the saturation age in
	// seconds, at the window's mean collection rate.
	edge, resolved := overdueAge(usual, k)
	usualSec, satSec := math.Inf(1), 0.0
	if !resolved && w.spanGC > 0 {
		usualSec = usual * w.spanSeconds / float64(w.spanGC)
		satSec = (liveAgeSlots - 1) * w.spanSeconds / float64(w.spanGC)
	}
	for i, j := range idx {
		p := g.at(h.base + uint64(j))
		ti := h.obs[j].t.Sub(t0).Seconds()
		w.t[i], w.old[i], w.oldCount[i] = ti, p.old, float64(p.liveOld)
		switch {
		case resolved:
			w.overdueT = append(w.overdueT, ti)
			w.overdue = append(w.overdue, p.liveAtLeast(edge, k))
		case !math.IsInf(usualSec, 1):
			// A live object in the saturated slot that is younger than
			// usualSec was allocated between usualSec and satSec ago:
			// what the slot holds beyond that many is overdue. (When
			// usualSec < satSec the whole slot is.)
			young := 0.0
			if usualSec > satSec {
				a0, ok0 := g.allocsAt(h, j, usualSec)
				a1, ok1 := g.allocsAt(h, j, satSec)
				if !ok0 || !ok1 {
					continue
				}
				young = a1 - a0
			}
			w.overdueT = append(w.overdueT, ti)
			w.overdue = append(w.overdue, math.Max(0, float64(p.liveGE[numEdges-1])-young))
		}
	}
	return w
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
