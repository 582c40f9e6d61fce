package analysis

import (
	"fmt"
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
	// minSurvivalGC is the least number of collections in the window for
	// the survival rule: an object allocated before the first of them
	// and alive after the last was spared by each.
	minSurvivalGC = 3
	// stopAlpha: growth counts as stopped when the live series has not
	// risen for so long that a steady stream of its samples would have
	// left that long a gap at the end with probability below stopAlpha:
	// a steady leak fails it at 5% of snapshots (the next ones pass), a
	// cache that stopped filling soon after it stopped.
	stopAlpha = 0.05
	// cleanShare: see the stopped test in assess.
	cleanShare = 0.05
	// watchGrowthSamples is the "large growth" that is never passed over
	// in silence: a site whose sampled live objects grew by this many
	// (about 4 MiB at the default 512 KiB sampling) over the window, with
	// a significant trend (Mann-Kendall p < WatchAlpha), and of which at
	// least minGrowthSamples survived a collection (unless none ran), is
	// at least a watch, with the reason it is not a leak.
	watchGrowthSamples = 8
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
	// The live series: every snapshot, sampled live objects of any age
	// and their scaled bytes (from the attach, at zero, with
	// sinceAttach). And the survival evidence at the end: sampled live
	// objects that survived a collection, the collections they survived
	// in all, and the sampled objects freed in the window after
	// surviving one.
	liveT, live, liveBytes              []float64
	survivors, exposure, survivorDeaths float64
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
// shows growth: watch when old bytes rise (Mann-Kendall p < WatchAlpha,
// Theil-Sen slope worth minGrowthSamples samples), overdue objects
// accumulate (accumulation p < WatchAlpha), or live sampled objects grew
// by watchGrowthSamples or more with a significant trend (large growth
// is never passed over in silence); leak when either rule holds:
//
// The overdue rule, all of:
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
// The survival rule, for a window too short in GC cycles for the overdue
// rule (fewer than Config.MinWindowGC past the overdue age), all of:
//
//   - the window spans Config.MinWindow and minSurvivalGC collections;
//   - at most maxOverdueDeaths sampled objects of the site were freed
//     after surviving a collection, and the S live ones that survived
//     one, with their exposure E (the collections each survived: every
//     one could have freed it), pass Binomial tests against the null
//     that a collection frees a surviving object of the site as often
//     as it spares it (garbage is freed by the first collection after
//     it becomes unreachable): P(Bin(E+D, 1/2) >= E) and P(Bin(S+D,
//     1/2) >= S) below Config.Alpha (at least 5 survivors, none freed);
//   - the live series (every snapshot, so growth is seen between
//     collections) grows steadily and still now: persistence at least
//     leakShare and growth in its recent part as above, and the time
//     since it last rose is plausible for a steady stream: with N
//     samples over the span T, a last gap g has probability (1-g/T)^N,
//     which must be at least stopAlpha (a steady leak fails it at 5% of
//     snapshots; a cache that stopped filling fails it soon after). The overdue rule
//     needs this last bar too when at most cleanShare of the site's
//     survivors were freed.
//
// wasLeak relaxes the bars (keepShare, keepAlphaFactor, no recent growth
// or gap) for a suspect that is already a leak. usualAge is
// ages.usualFreeAge(K), for evidence.
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
		SurvivalPValue:     1,
		SinceAttach:        w.sinceAttach,
	}
	if math.IsInf(usualAge, 1) {
		ev.UsualFreeAgeGC = -1
	}
	if math.IsInf(w.overdueAge, 1) {
		ev.OverdueAgeGC = -1
	}
	n := len(w.t)
	oldGrows := false
	if n >= minWatchPoints && w.oldCount[n-1] > 0 {
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
	if n >= minWatchPoints && len(w.overdue) >= 3 {
		acc = overdueAccumulation(w)
		ev.OverdueObjects = acc.now
		ev.OverdueArrivals, ev.OverdueDeaths = acc.arrivals, acc.deaths
		ev.RecentOverdueGrowth = acc.recent
		ev.AccumulationPValue = acc.p
		ev.Persistence = acc.persistence
		ev.OverdueGrowthShare = overdueShare(w)
	} else {
		acc.p = 1
	}
	ls := liveGrowth(w)
	ev.LiveGrowthObjects, ev.LiveSlopeBytesPerSecond, ev.SecondsSinceGrowth = ls.growth, ls.slope, ls.sinceGrowth
	ev.SurvivorObjects, ev.SurvivorDeaths, ev.SurvivalExposure = w.survivors, w.survivorDeaths, w.exposure
	ev.SurvivalPValue = binomialUpper(math.Round(w.exposure), math.Round(w.exposure+w.survivorDeaths))
	// Young garbage alone is not growth, even when its level rises
	// because the heap grows (collections get rarer): some of the live
	// objects must have survived a collection, unless none ran yet.
	liveGrows := ls.watchGrowth >= watchGrowthSamples && ls.p < cfg.WatchAlpha && ls.slope > 0 &&
		(w.spanGC == 0 || w.survivors >= minGrowthSamples)
	if !oldGrows && acc.p >= cfg.WatchAlpha && !liveGrows {
		return "", ev
	}
	ev.GrowthBytesPerSecond = ls.slope
	if n >= minWatchPoints && w.oldCount[n-1] > 0 {
		ev.GrowthBytesPerSecond = ev.SlopeBytesPerSecond
		if w.survivorDeaths == 0 {
			// Nothing old ever died: all live bytes are the growth.
			ev.GrowthBytesPerSecond = math.Max(ev.SlopeBytesPerSecond, ls.slope)
		}
	}
	ev.Coverage = clamp01(math.Min(
		w.dueSpanSeconds/cfg.MinWindow.Seconds(),
		w.dueSpanGC/float64(cfg.MinWindowGC)))

	alpha, share, recent := cfg.Alpha, leakShare, 1.0
	if wasLeak {
		alpha, share, recent = math.Min(cfg.WatchAlpha, alpha*keepAlphaFactor), keepShare, 0
	}
	// Either rule, for a site whose survivors are not freed: the live
	// series has not stopped rising (a table
	// loaded while watched, aging past the overdue age one collection at
	// a time in a process that rarely collects, keeps "growing" in the
	// overdue series long after it stopped).
	// Only where survivors are (almost) never freed (at most cleanShare of
	// them, e.g. a growing map's old tables) is the live series a
	// clean count of what accumulates; where the site also churns, its
	// young objects' ups and downs say nothing about when growth stopped.
	stopped := !wasLeak && w.survivorDeaths <= math.Max(maxOverdueDeaths, cleanShare*w.survivors) && ls.gapP < stopAlpha
	if ev.Coverage >= 1 && n >= minLeakPoints && acc.p < alpha &&
		acc.persistence >= share && acc.recent >= recent && !stopped {
		ev.Rule = "overdue"
		ev.Reason = fmt.Sprintf("%.0f sampled objects older than %s GC cycles (this site's objects usually die by %s) appeared, %.0f of them freed; steady growth over %.0f s and %d GC cycles",
			acc.arrivals, ageText(w.overdueAge), ageText(usualAge), acc.deaths, w.spanSeconds, w.spanGC)
		return VerdictLeak, ev
	}
	// The survival rule.
	survival := w.dueSpanGC < float64(cfg.MinWindowGC) || math.IsInf(w.overdueAge, 1)
	pCount := binomialUpper(math.Round(w.survivors), math.Round(w.survivors+w.survivorDeaths))
	spanOK := w.spanSeconds >= cfg.MinWindow.Seconds() && w.spanGC >= minSurvivalGC
	deathsOK := w.survivorDeaths <= maxOverdueDeaths && ev.SurvivalPValue < alpha && pCount < alpha
	steady := ls.persistence >= share && ls.recent >= recent && !stopped
	survivalCoverage := clamp01(math.Min(w.spanSeconds/cfg.MinWindow.Seconds(), float64(w.spanGC)/minSurvivalGC))
	if survival && spanOK && deathsOK && steady {
		ev.Rule = "survival"
		ev.Coverage = survivalCoverage
		ev.Persistence = ls.persistence
		ev.Reason = fmt.Sprintf("%.0f sampled objects survived every GC since their allocation (%.0f collections could have freed them), %.0f freed; steady growth over %.0f s (%d GC cycles)",
			w.survivors, w.exposure, w.survivorDeaths, w.spanSeconds, w.spanGC)
		return VerdictLeak, ev
	}
	// A watch: say what a leak still lacks, by the rule nearer to it.
	switch {
	case w.spanSeconds < cfg.MinWindow.Seconds():
		ev.Reason = fmt.Sprintf("watched %.0f s of the %.0f s a leak needs", w.spanSeconds, cfg.MinWindow.Seconds())
	case stopped:
		ev.Reason = fmt.Sprintf("growth stopped %.0f s ago", ls.sinceGrowth)
	case survival && w.spanGC < minSurvivalGC:
		ev.Reason = fmt.Sprintf("only %d GC cycles observed (a leak needs %d with no survivor freed, or %d past the overdue age)",
			w.spanGC, minSurvivalGC, cfg.MinWindowGC)
	case survival && w.survivorDeaths > maxOverdueDeaths:
		ev.Reason = fmt.Sprintf("%.0f sampled objects were freed after surviving a GC: a leak needs objects older than its objects usually die over %d GC cycles (%.0f so far)",
			w.survivorDeaths, cfg.MinWindowGC, math.Max(0, w.dueSpanGC))
	case survival && !deathsOK:
		ev.Reason = fmt.Sprintf("only %.0f sampled objects survived a GC (a leak needs 5 with none freed)", w.survivors)
	case survival && ls.recent < recent:
		ev.Reason = fmt.Sprintf("growth stopped %.0f s ago", ls.sinceGrowth)
	case survival:
		ev.Reason = fmt.Sprintf("growth slowed down or came in one step (persistence %.2f < %.2f)", ls.persistence, share)
	case ev.Coverage < 1 || n < minLeakPoints:
		ev.Reason = fmt.Sprintf("overdue evidence spans %.0f s and %.0f GC cycles of the %.0f s and %d a leak needs",
			math.Max(0, w.dueSpanSeconds), math.Max(0, w.dueSpanGC), cfg.MinWindow.Seconds(), cfg.MinWindowGC)
	case acc.p >= alpha:
		ev.Reason = fmt.Sprintf("%.0f sampled objects older than %s GC cycles appeared and %.0f died: not significant (p %.2f)",
			acc.arrivals, ageText(w.overdueAge), acc.deaths, acc.p)
	case acc.recent < recent:
		ev.Reason = "no growth of overdue objects in the recent part of the window"
	default:
		ev.Reason = fmt.Sprintf("growth levelled off or came in one step (persistence %.2f < %.2f)", acc.persistence, share)
	}
	return VerdictWatch, ev
}

// ageText renders an age in GC cycles; "unbounded" for +Inf.
func ageText(a float64) string {
	if math.IsInf(a, 1) {
		return "unbounded"
	}
	return fmt.Sprintf("%.0f", a)
}

// live is the growth evidence of the live series.
type live struct {
	growth      float64 // sampled objects, level at the end minus at the start
	watchGrowth float64 // the same from the first snapshot (not the attach)
	slope       float64 // Theil-Sen, scaled bytes per second
	p           float64 // Mann-Kendall one-sided p of the counts, from the first snapshot
	recent      float64 // growth in the recent part
	persistence float64 // steadiness
	sinceGrowth float64 // seconds since the series last rose
	gapP        float64 // (1-sinceGrowth/span)^growth
}

// liveGrowth tests the live series of w.
func liveGrowth(w window) live {
	ls := live{p: 1, gapP: 1}
	t, y := w.liveT, w.live
	n := len(t)
	if n < 3 {
		return ls
	}
	b := n - 1
	m := max(1, n/8)
	m0 := m
	if w.sinceAttach {
		m0 = 1
	}
	_, y0 := level(t, y, 0, m0)
	_, y1 := level(t, y, b+1-m, m)
	ls.growth = y1 - y0
	ls.slope = theilSen(t, w.liveBytes)
	// For the watch bar, the snapshots only: young garbage is at its
	// level from the first snapshot on, and its rise from the attach's
	// zero is no growth.
	i0 := 0
	if w.sinceAttach && n > 3 {
		i0 = 1
	}
	_, v0 := level(t[i0:], y[i0:], 0, m)
	ls.watchGrowth = y1 - v0
	ls.p = mannKendall(y[i0:]).P
	from := t[b] - recentShare*(t[b]-t[0])
	s, _ := slices.BinarySearch(t, from)
	s = min(max(s, 1), b-1)
	ls.recent = y[b] - y[s]
	ls.persistence = steadiness(t, y, s, w.sinceAttach)
	last := 0
	for i := 1; i < n; i++ {
		if y[i] > y[i-1] {
			last = i
		}
	}
	ls.sinceGrowth = t[b] - t[last]
	if span := t[b] - t[0]; span > 0 && ls.growth > 0 {
		// Given N samples of a steady stream over the span, each is
		// uniform in it: none in the last gap has probability
		// (1-gap/span)^N.
		ls.gapP = math.Pow(1-ls.sinceGrowth/span, ls.growth)
	}
	return ls
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
	p := ev.AccumulationPValue
	if ev.Rule == "survival" {
		p = ev.SurvivalPValue
	}
	return clamp01((1 - p) * ev.Persistence * ev.Coverage)
}
