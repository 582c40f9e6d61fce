package analysis

import (
	"math"
	"slices"
)

// Decision thresholds that are not worth a Config knob.
const (
	// minWatchPoints is the least number of points for any verdict: with
	// fewer, Mann-Kendall cannot reach the default WatchAlpha (0.01).
	minWatchPoints = 6
	// minLeakPoints is the least number of points (so of GC cycles) for
	// a leak; with 10 points a clean rise gives p ~ 4e-5.
	minLeakPoints = 10
	// leakShare is the least persistence and overdue growth share for a
	// leak: most of the evidence, not a sliver of it.
	leakShare = 0.5
	// keepShare and keepAlphaFactor are the looser bars a suspect already
	// judged leak must keep clearing to stay one, so that sampling noise
	// does not flip a real leak back and forth.
	keepShare       = 0.25
	keepAlphaFactor = 10
	// minGrowthSamples: growth over the window smaller than this many
	// sampled objects is indistinguishable from sampling noise.
	minGrowthSamples = 2
	// persistenceZ is the normal quantile of the one-sided 95% bound in
	// steadiness: growth counts as uneven only when even that bound puts
	// one half's rate below half the other's.
	persistenceZ = 1.645
)

// window is the evidence for one group, oldest point first.
type window struct {
	t        []float64 // seconds since the first point
	old      []float64 // estimated old live bytes
	oldCount []float64 // sampled old live objects
	// Sampled live objects older than the usual free age, where known.
	overdueT, overdue []float64
	// What the raw window spans.
	spanSeconds float64
	spanGC      uint64
}

// assess is the detector. It returns no verdict ("") unless the group's
// old bytes show material, significant growth; then watch, or leak when
// all of these hold:
//
//   - the window spans Config.Window and Config.WindowGC (coverage 1),
//     with at least minLeakPoints points (one per GC cycle at most);
//   - Mann-Kendall finds old bytes increasing with p < Config.Alpha, and
//     the Theil-Sen slope is positive and worth minGrowthSamples samples;
//   - the growth is steady: the slower half of the window plausibly
//     (upper 95% bound) grew overdue objects at least half as fast as the
//     other (see steadiness); a warmed-up cache or a start-up table has
//     demonstrably levelled off or grew in one step, a slow leak whose
//     samples happen to be sparse in one half has not;
//   - what grew is overdue: at least half of the growth in old objects is
//     in objects older than the age by which this stack's old objects
//     usually die (a working set or a batch that is still filling turns
//     over younger than that), over the window and each of its halves.
//
// When live ages saturate before the usual free age (very frequent GC),
// the overdue count is a lower bound: the saturated slot minus everything
// allocated within the usual free age (converted to seconds).
//
// wasLeak relaxes the bars (keepShare, keepAlphaFactor) for a suspect
// that is already a leak. usualAge is ages.usualFreeAge(K), for evidence.
func assess(cfg Config, w window, usualAge float64, wasLeak bool) (Verdict, Evidence) {
	ev := Evidence{
		Points:         len(w.t),
		WindowSeconds:  w.spanSeconds,
		WindowGCCycles: w.spanGC,
		MinOldAgeGC:    cfg.MinOldAgeGC,
		UsualFreeAgeGC: usualAge,
		PValue:         1,
	}
	if math.IsInf(usualAge, 1) {
		ev.UsualFreeAgeGC = -1
	}
	n := len(w.t)
	if n < minWatchPoints || w.oldCount[n-1] <= 0 {
		return "", ev
	}
	mk := mannKendall(w.old)
	ev.MannKendallS, ev.MannKendallZ, ev.PValue = mk.S, mk.Z, mk.P
	if mk.P >= cfg.WatchAlpha {
		return "", ev
	}
	slope := theilSen(w.t, w.old)
	ev.SlopeBytesPerSecond = slope
	bytesPerSample := w.old[n-1] / w.oldCount[n-1]
	if slope <= 0 || slope*w.t[n-1] < minGrowthSamples*bytesPerSample {
		return "", ev
	}

	h := n / 2
	ev.RecentSlopeBytesPerSecond = theilSen(w.t[h:], w.old[h:])

	if len(w.overdue) >= minWatchPoints {
		ev.OverdueGrowthShare = overdueShare(w, !wasLeak)
		// Steadiness of the overdue objects, not of all old ones: they
		// are what a leak accumulates, without the churn that makes the
		// old count noisy. (With no old object ever freed they are the
		// same; and a cohort such as a table built at start-up ageing
		// past the usual free age all at once is a step, not a leak.)
		ev.Persistence = steadiness(w.overdueT, w.overdue)
	}
	ev.Coverage = math.Min(1, math.Min(
		w.spanSeconds/cfg.Window.Seconds(),
		float64(w.spanGC)/float64(cfg.WindowGC)))

	alpha, share := cfg.Alpha, leakShare
	if wasLeak {
		alpha, share = math.Min(cfg.WatchAlpha, alpha*keepAlphaFactor), keepShare
	}
	if ev.Coverage >= 1 && n >= minLeakPoints && mk.P < alpha &&
		ev.Persistence >= share && ev.OverdueGrowthShare >= share {
		return VerdictLeak, ev
	}
	return VerdictWatch, ev
}

// overdueShare is the share of the growth in old objects that is made of
// overdue objects: the ratio of their Theil-Sen slopes (not end-point
// differences: a few churn objects that happen to be old at one snapshot
// must not swing it). With halves, it is the lowest ratio over the whole
// window and over each half, so that a chance drift of a few overdue
// objects against a nearly flat old count cannot pass for a new leak: a
// leak's old growth is overdue growth all along. A standing leak is only
// asked for the whole-window ratio, which is less noisy.
func overdueShare(w window, halves bool) float64 {
	mid, end := w.t[len(w.t)/2], w.t[len(w.t)-1]
	share := func(from, to float64) float64 {
		t1, y1 := between(w.t, w.oldCount, from, to)
		t2, y2 := between(w.overdueT, w.overdue, from, to)
		if len(t1) < 3 || len(t2) < 3 {
			return 0
		}
		grown := theilSen(t1, y1)
		if grown <= 0 {
			return 0
		}
		return clamp01(theilSen(t2, y2) / grown)
	}
	if !halves {
		return share(0, end)
	}
	return min(share(0, end), share(0, mid), share(mid, end))
}

// between returns the points of (t, y) with from <= t <= to.
func between(t, y []float64, from, to float64) ([]float64, []float64) {
	i, _ := slices.BinarySearch(t, from)
	j, found := slices.BinarySearch(t, to)
	if found {
		j++
	}
	return t[i:j], y[i:j]
}

// steadiness is how plausibly the count series y grew at one rate
// throughout: the upper end of the one-sided 95% confidence interval of
// the slower half's rate over the faster half's, capped at 1. Each half's
// growth, in sampled objects, is the difference of the series' levels at
// its ends, each level a median of nearby points (robust to a few churn
// objects being old at one snapshot, yet a step anywhere counts in full).
// Sampled objects arrive as a Poisson process, so given the total the
// slower half's share is binomial, and its Wilson bound gives the rate
// ratio's. A warmed-up cache (recent half flat) or a cohort ageing past a
// threshold at once (a step in one half) scores near 0; a slow leak whose
// samples happen to be sparse in one half does not.
func steadiness(t, y []float64) float64 {
	n := len(t)
	m := max(1, n/8) // points per level
	h := n / 2
	t0, y0 := level(t, y, 0, m)
	t1, y1 := level(t, y, max(0, h-m/2), m)
	t2, y2 := level(t, y, n-m, m)
	d1, d2 := t1-t0, t2-t1
	if d1 <= 0 || d2 <= 0 {
		return 0
	}
	n1, n2 := math.Max(0, y1-y0), math.Max(0, y2-y1)
	if n1/d1 > n2/d2 { // make half 1 the slower one
		n1, n2, d1, d2 = n2, n1, d2, d1
	}
	p := wilsonUpper(n1, n1+n2, persistenceZ)
	if p >= 1 {
		return 1
	}
	return clamp01((p / d1) / ((1 - p) / d2))
}

// level returns the mean time and the median value of y[i:i+m].
func level(t, y []float64, i, m int) (float64, float64) {
	m = min(m, len(y)-i)
	var ts float64
	for _, v := range t[i : i+m] {
		ts += v
	}
	v := slices.Clone(y[i : i+m])
	slices.Sort(v)
	med := v[m/2]
	if m%2 == 0 {
		med = (v[m/2-1] + v[m/2]) / 2
	}
	return ts / float64(m), med
}

// score combines the evidence into [0,1]; see Evidence.
func score(ev Evidence) float64 {
	return clamp01((1 - ev.PValue) * ev.Persistence * ev.OverdueGrowthShare * ev.Coverage)
}
