package analysis

import (
	"math"
	"slices"
)

// Decision thresholds that are not worth a Config knob.
const (
	// minWatchPoints is the least number of points (one per GC cycle at
	// most) for any verdict.
	minWatchPoints = 4
	// minLeakPoints is the least number of snapshots (one per GC cycle
	// at most, not counting the attach) for a leak.
	minLeakPoints = 5
	// leakShare is the least persistence for a leak: the recent rate of
	// overdue growth is plausibly at least half the earlier one (and
	// the other way round).
	leakShare = 0.5
	// keepShare and keepAlphaFactor are the looser bars a suspect already
	// judged leak must keep clearing to stay one, so that sampling noise
	// does not flip a real leak back and forth; a standing leak also
	// need not have grown in the recent part of the window.
	keepShare       = 0.25
	keepAlphaFactor = 5
	// minGrowthSamples: growth over the window smaller than this many
	// sampled objects is indistinguishable from sampling noise.
	minGrowthSamples = 2
	// persistenceZ is the normal quantile of the one-sided 95% bound in
	// steadiness.
	persistenceZ = 1.645
	// recentShare is the most recent part of the window in which overdue
	// objects must still be appearing: a cache that filled and stopped
	// has not grown there. With the least window (MinWindow, 50 s of
	// overdue series) it starts 30 s into the series, after a cache that
	// filled in the first 30 s has stopped.
	recentShare = 0.4
)

// window is the evidence for one group, oldest point first.
type window struct {
	t        []float64 // seconds since the window start
	old      []float64 // estimated old live bytes
	oldCount []float64 // sampled old live objects
	// The overdue series: times, sampled live objects older than
	// overdueAge, and the cumulative count of sampled objects freed at
	// that age or older. With sinceAttach, its first point is the attach
	// itself, where both are zero.
	overdueT, overdue, overdueDeaths []float64
	overdueAge                       float64 // GC cycles; +Inf: unknown
	// What the window spans (from the attach, with sinceAttach), and what
	// the overdue series spans: with sinceAttach, it starts once the
	// overdue age has passed.
	spanSeconds               float64
	spanGC                    uint64
	dueSpanSeconds, dueSpanGC float64
	sinceAttach               bool
}

// accumulation is the overdue part of the evidence.
type accumulation struct {
	arrivals, deaths float64 // overdue objects appeared / died in the window
	now              float64 // overdue objects at the end
	recent           float64 // net growth in the recent part
	p                float64 // accumulation p-value
	persistence      float64 // see steadiness
}

// assess is the detector. It returns no verdict ("") unless the group
// shows growth: watch when either old bytes rise (Mann-Kendall p <
// WatchAlpha, Theil-Sen slope worth minGrowthSamples samples) or overdue
// objects accumulate (accumulation p < WatchAlpha); leak when all of
// these hold:
//
//   - the overdue series spans Config.MinWindow and Config.MinWindowGC
//     (coverage 1; since attach, it starts when the GC count reached the
//     overdue age) and the window holds at least minLeakPoints
//     snapshots, one per GC cycle at most;
//   - overdue objects (older than overdueFactor times the age by which
//     this stack's old objects usually die) appear faster than they die:
//     the arrivals A and deaths D of overdue sampled objects are, with
//     no accumulation, two Poisson counts of equal mean, so given A+D,
//     A is Binomial(A+D, 1/2); its upper tail must be < Config.Alpha. A
//     leak, whose overdue objects never die, needs 5 samples at 0.04
//     (2^-5 = 0.031); a death among them costs about two more;
//   - the growth is steady and still going on: overdue objects grew in
//     the most recent recentShare of the window, and the upper 95% bound
//     of the rate ratio of the slower part (recent or earlier) to the
//     faster one is at least leakShare (see steadiness). A cache that
//     filled and stopped, a table that aged past the overdue age at
//     once, a batch, are not.
//
// wasLeak relaxes the bars (keepShare, keepAlphaFactor) for a suspect
// that is already a leak. usualAge is ages.usualFreeAge(K), for evidence.
func assess(cfg Config, w window, usualAge float64, wasLeak bool) (Verdict, Evidence) {
	ev := Evidence{
		Points:             len(w.t),
		WindowSeconds:      w.spanSeconds,
		WindowGCCycles:     w.spanGC,
		MinOldAgeGC:        cfg.MinOldAgeGC,
		UsualFreeAgeGC:     usualAge,
		OverdueAgeGC:       w.overdueAge,
		PValue:             1,
		AccumulationPValue: 1,
		SinceAttach:        w.sinceAttach,
	}
	if math.IsInf(usualAge, 1) {
		ev.UsualFreeAgeGC = -1
	}
	if math.IsInf(w.overdueAge, 1) {
		ev.OverdueAgeGC = -1
	}
	n := len(w.t)
	if n < minWatchPoints {
		return "", ev
	}
	oldGrows := false
	if w.oldCount[n-1] > 0 {
		mk := mannKendall(w.old)
		ev.MannKendallS, ev.MannKendallZ, ev.PValue = mk.S, mk.Z, mk.P
		slope := theilSen(w.t, w.old)
		ev.SlopeBytesPerSecond = slope
		ev.RecentSlopeBytesPerSecond = theilSen(w.t[n/2:], w.old[n/2:])
		bytesPerSample := w.old[n-1] / w.oldCount[n-1]
		oldGrows = mk.P < cfg.WatchAlpha && slope > 0 &&
			slope*(w.t[n-1]-w.t[0]) >= minGrowthSamples*bytesPerSample
	}
	var acc accumulation
	if len(w.overdue) >= 3 {
		acc = overdueAccumulation(w)
		ev.OverdueObjects = acc.now
		ev.OverdueArrivals, ev.OverdueDeaths = acc.arrivals, acc.deaths
		ev.RecentOverdueGrowth = acc.recent
		ev.AccumulationPValue = acc.p
		ev.Persistence = acc.persistence
		ev.OverdueGrowthShare = overdueShare(w)
	}
	if !oldGrows && ev.AccumulationPValue >= cfg.WatchAlpha {
		return "", ev
	}
	ev.Coverage = clamp01(math.Min(
		w.dueSpanSeconds/cfg.MinWindow.Seconds(),
		w.dueSpanGC/float64(cfg.MinWindowGC)))

	alpha, share, recent := cfg.Alpha, leakShare, 1.0
	if wasLeak {
		alpha, share, recent = math.Min(cfg.WatchAlpha, alpha*keepAlphaFactor), keepShare, 0
	}
	if ev.Coverage >= 1 && n >= minLeakPoints && acc.p < alpha &&
		acc.persistence >= share && acc.recent >= recent {
		return VerdictLeak, ev
	}
	return VerdictWatch, ev
}

// overdueAccumulation tests the overdue series of w; it needs 3 points.
func overdueAccumulation(w window) accumulation {
	t, o, d := w.overdueT, w.overdue, w.overdueDeaths
	if len(d) != len(o) { // no frees known
		d = make([]float64, len(o))
	}
	b := len(t) - 1
	// Levels at the ends as in steadiness (medians of a few points), so
	// that one snapshot catching a step cannot count it as growth.
	m := max(1, len(t)/8)
	m0 := m
	if w.sinceAttach {
		m0 = 1 // the attach: exactly zero
	}
	_, o0 := level(t, o, 0, m0)
	_, o1 := level(t, o, b+1-m, m)
	deaths := math.Max(0, d[b]-d[0])
	arrivals := math.Max(0, o1-o0+deaths)
	acc := accumulation{
		arrivals: arrivals, deaths: deaths, now: o[b],
		p: binomialUpper(math.Round(arrivals), math.Round(arrivals+deaths)),
	}
	// The recent part: from the first point at or after its start, but
	// never the first or the last point.
	from := t[b] - recentShare*(t[b]-t[0])
	s, _ := slices.BinarySearch(t, from)
	s = min(max(s, 1), b-1)
	acc.recent = o[b] - o[s]
	acc.persistence = steadiness(t, o, s, w.sinceAttach)
	return acc
}

// binomialUpper is P(X >= k) for X ~ Binomial(n, 1/2): exact up to 1000
// trials, normal with continuity correction beyond. 1 when k <= n/2.
func binomialUpper(k, n float64) float64 {
	if n <= 0 || k <= n/2 {
		return 1
	}
	if k > n {
		return 0
	}
	if n > 1000 {
		return upperTail((k - 0.5 - n/2) / math.Sqrt(n/4))
	}
	lgN, _ := math.Lgamma(n + 1)
	var p float64
	for i := k; i <= n; i++ {
		li, _ := math.Lgamma(i + 1)
		lr, _ := math.Lgamma(n - i + 1)
		p += math.Exp(lgN - li - lr - n*math.Ln2)
	}
	return math.Min(1, p)
}

// overdueShare is the share of the window's growth in old objects made of
// overdue objects: the ratio of their Theil-Sen slopes. Reported, not
// used to decide: a working set that still turns over from the same site
// makes old objects grow without a single one of them being overdue.
func overdueShare(w window) float64 {
	if len(w.t) < 3 {
		return 0
	}
	t2, y2 := w.overdueT, w.overdue
	if w.sinceAttach { // the old series has no attach point
		t2, y2 = t2[1:], y2[1:]
	}
	if len(t2) < 3 {
		return 0
	}
	grown := theilSen(w.t, w.oldCount)
	if grown <= 0 {
		return 0
	}
	return clamp01(theilSen(t2, y2) / grown)
}

// steadiness is how plausibly the count series y grew at one rate
// throughout, comparing its growth before point s and from s on: the
// upper end of the one-sided 95% confidence interval of the slower
// part's rate over the faster part's, capped at 1 (0 when either part
// did not grow). Each part's growth, in sampled objects, is the
// difference of the series' levels at its ends, each level a median of
// nearby points (robust to a few churn objects being overdue at one
// snapshot, yet a step anywhere counts in full). Sampled objects arrive
// as a Poisson process, so given the total the slower part's share is
// binomial, and its Wilson bound gives the rate ratio's. A warmed-up
// cache (recent part flat) or a cohort ageing past a threshold at once (a
// step in one part) scores near 0; a slow leak whose samples happen to
// be sparse in one part does not. With exactStart the first point is
// exact (the attach) and is its own level.
func steadiness(t, y []float64, s int, exactStart bool) float64 {
	n := len(t)
	m := max(1, n/8) // points per level
	m0 := m
	if exactStart {
		m0 = 1
	}
	t0, y0 := level(t, y, 0, m0)
	t1, y1 := level(t, y, max(0, s-m/2), m)
	t2, y2 := level(t, y, n-m, m)
	d1, d2 := t1-t0, t2-t1
	if d1 <= 0 || d2 <= 0 {
		return 0
	}
	n1, n2 := math.Max(0, y1-y0), math.Max(0, y2-y1)
	if n1+n2 <= 0 {
		return 0
	}
	if n1/d1 > n2/d2 { // make part 1 the slower one
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
	return clamp01((1 - ev.AccumulationPValue) * ev.Persistence * ev.Coverage)
}
