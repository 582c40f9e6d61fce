package analysis

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/leakscope/leakscope/snapshot"
	"github.com/leakscope/leakscope/symbolize"
)

// Symbolizer resolves PCs of the target to frames, innermost first.
type Symbolizer interface {
	Symbolize(pcs []uint64) []symbolize.Frame
}

// Target accumulates the snapshots of one watched process. It is safe for
// concurrent use.
type Target struct {
	mu     sync.Mutex
	cfg    Config
	stacks map[int32]*stackEntry // symbolization cache, by kernel stack id
	groups map[string]*group     // by groupKey
	hist   history
	rate   int64 // MemProfileRate of the last snapshot
	regime regimeTracker
	// rateRef is the last snapshot's RateRef: the rate its sampled counts
	// are at, when rate-weighted.
	rateRef int64
	// rateRestart is when, and at which GC count, the evidence last
	// restarted because the counts' rate moved (zero: never).
	rateRestart struct {
		at time.Time
		gc uint64
	}
}

// stackEntry caches what one kernel stack id resolved to.
type stackEntry struct {
	pcs []uint64
	g   *group
}

// NewTarget returns an empty Target; zero Config fields take defaults.
func NewTarget(cfg Config) *Target {
	return &Target{
		cfg:    cfg.withDefaults(),
		stacks: make(map[int32]*stackEntry),
		groups: make(map[string]*group),
		hist:   history{sinceAttach: true},
	}
}

// Add records one snapshot and re-judges every group. Snapshots must come
// in time order; one not after the previous is ignored. A GC count going
// back (the tracer re-attached) or a change of the rate the sampled counts
// are at (samples before and after are not comparable: MemProfileRate, or
// for rate-weighted snapshots Snapshot.RateRef) restarts the evidence
// windows, keeping first_leak_at.
func (t *Target) Add(s *snapshot.Snapshot, sym Symbolizer) {
	if s == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := t.cfg.MinOldAgeGC

	if n := len(t.hist.obs); n > 0 {
		prev := t.hist.obs[n-1]
		if !s.Time.After(prev.t) {
			return
		}
		switch {
		case s.GCCycles < prev.gc:
			t.restart(true) // the tracer re-attached: counts are new
			t.regime = regimeTracker{}
		case t.countRate(s) != t.countRate(nil):
			// The counts are at another rate: only when the rate moves
			// for the first time past its highest since attach, with
			// rate-weighted snapshots (RateRef); at every change without.
			t.restart(false)
			t.holdVerdicts(s.Time, s.GCCycles)
		}
	}
	t.rate, t.rateRef = s.MemProfileRate, s.RateRef

	for _, g := range t.groups {
		g.cur = current{}
	}
	ids := make([]int32, 0, len(s.Stacks))
	for id := range s.Stacks {
		ids = append(ids, id)
	}
	slices.Sort(ids) // fixed summation order: reproducible floats
	for _, id := range ids {
		st := s.Stacks[id]
		if st == nil {
			continue
		}
		t.group(id, st.PCs, sym).accumulate(st, s.MemProfileRate, s.RateRef > 0, k)
	}

	seq := t.hist.next()
	t.hist.add(observation{t: s.Time, gc: s.GCCycles, hidden: hiddenFreesOf(s)}, t.cfg)
	var live float64
	for _, g := range t.groups {
		live += float64(g.cur.liveBytes)
	}
	t.regime.observe(s.Time, s.GCCycles, live, t.hist.attachTime(t.cfg))
	idx := t.hist.points()
	lossy := len(t.hist.lossesInWindow()) > 0
	for _, g := range t.groups {
		g.record(seq, k)
		g.trim(t.hist.base)
		t.judge(g, idx, s.Time, s.GCCycles, lossy)
	}
}

// countRate is the rate that the sampled counts of s (nil: of the last
// snapshot) are at: the reference rate of a rate-weighted snapshot,
// otherwise its MemProfileRate.
func (t *Target) countRate(s *snapshot.Snapshot) int64 {
	if s == nil {
		return cmp.Or(t.rateRef, t.rate)
	}
	return cmp.Or(s.RateRef, s.MemProfileRate)
}

// restart forgets all evidence windows; attached says the kernel's counts
// restarted from zero.
func (t *Target) restart(attached bool) {
	t.hist.reset(attached)
	for _, g := range t.groups {
		g.pts = nil
		if attached {
			g.held = nil // new counts: nothing from before stands
		}
	}
}

// heldVerdict is a site's verdict from before the evidence restarted.
type heldVerdict struct {
	verdict  Verdict
	evidence Evidence
	score    float64
}

// holdVerdicts keeps every site's verdict across a restart for a change
// of rate (at time at, GC count gc): the site's objects are still there,
// only the counts' scale moved, and a leak must not vanish from the
// report while the new evidence is too short to name it again.
func (t *Target) holdVerdicts(at time.Time, gc uint64) {
	t.rateRestart.at, t.rateRestart.gc = at, gc
	for _, g := range t.groups {
		if g.verdict != "" && g.held == nil { // a hold outlives another restart
			g.held = &heldVerdict{verdict: g.verdict, evidence: g.evidence, score: g.score}
		}
	}
}

// applyHold gives g its held verdict in every report where the evidence
// since the rate moved is weaker. A weaker verdict from it does not
// contradict the held one until it has had a whole evidence window
// (Window and WindowGC): at a raised rate the same leak gives fewer
// samples, takes longer to name and, named, can fall back to watch on a
// thin stretch. The hold ends sooner if the site has nothing live left,
// or if the new evidence, over the least span a leak needs (MinWindow and
// MinWindowGC past the old age), shows no growth at all.
func (t *Target) applyHold(g *group, now time.Time, gc uint64) {
	h := g.held
	if h == nil {
		return
	}
	since, gcs := now.Sub(t.rateRestart.at), gc-t.rateRestart.gc
	noGrowth := g.verdict == "" && since >= t.cfg.MinWindow && gcs >= uint64(t.cfg.MinWindowGC+t.cfg.MinOldAgeGC)
	fullWindow := since >= t.cfg.Window && gcs >= uint64(t.cfg.WindowGC)
	if noGrowth || fullWindow || g.cur.ages.liveAtLeast(0) == 0 {
		g.held = nil
		return
	}
	if verdictRank(g.verdict) <= verdictRank(h.verdict) { // as strong: lower ranks first
		return // the hold stays for a later, weaker report
	}
	g.verdict, g.evidence, g.score = h.verdict, h.evidence, h.score
	g.evidence.HeldAcrossRateChange = true
	g.evidence.Reason = fmt.Sprintf("held from before the sampling rate changed %.0f s ago (the evidence restarted then): %s",
		now.Sub(t.rateRestart.at).Seconds(), h.evidence.Reason)
}

// group returns the group of stack id, symbolizing it on first sight (or
// if the kernel reused the id for other PCs).
func (t *Target) group(id int32, pcs []uint64, sym Symbolizer) *group {
	if e, ok := t.stacks[id]; ok && slices.Equal(e.pcs, pcs) {
		return e.g
	}
	var frames []symbolize.Frame
	if sym != nil && len(pcs) > 0 {
		frames = sym.Symbolize(pcs)
	} else {
		for _, pc := range pcs {
			frames = append(frames, symbolize.Frame{PC: pc})
		}
	}
	frames = frames[leakSite(frames):]
	key := groupKey(frames)
	g, ok := t.groups[key]
	if !ok {
		site := userSite(frames)
		g = &group{frames: slices.Clone(frames), site: site, key: siteKey(frames[site:])}
		t.groups[key] = g
	}
	if !slices.Contains(g.ids, id) {
		g.ids = append(g.ids, id)
	}
	t.stacks[id] = &stackEntry{pcs: slices.Clone(pcs), g: g}
	return g
}

// judge runs the detector on g, over the history points idx, and updates
// its verdict. With lossy (frees may have been missed in the window: see
// FreeHidingLosses), a leak is downgraded to watch.
func (t *Target) judge(g *group, idx []int, now time.Time, gc uint64, lossy bool) {
	t.assessWindow(g, idx)
	t.applyHold(g, now, gc)
	if lossy && g.verdict == VerdictLeak {
		g.verdict, g.evidence.FreesMayBeMissing = VerdictWatch, true
		g.evidence.Reason = "frees may be missing: losses that can hide frees rose in the window"
	}
	if g.verdict == VerdictLeak && g.firstLeak.IsZero() {
		g.firstLeak = now
	}
}

// assessWindow runs the detector on g's evidence window alone.
func (t *Target) assessWindow(g *group, idx []int) {
	wasLeak := g.verdict == VerdictLeak
	g.verdict, g.evidence, g.score = "", Evidence{}, 0
	k := t.cfg.MinOldAgeGC
	if len(g.pts) == 0 || g.cur.ages.liveAtLeast(0) == 0 || len(idx) == 0 {
		return
	}
	usual := g.cur.ages.usualFreeAge(k)
	w := g.window(&t.hist, idx, k, usual, t.hist.attachTime(t.cfg), t.hist.sinceAttach)
	v, ev := assess(t.cfg, w, usual, wasLeak)
	if v == "" {
		return
	}
	if allocs := g.cur.allocs; allocs > 0 {
		ev.UnfreedShare = clamp01(float64(allocs-min(g.cur.frees, allocs)) / float64(allocs))
	}
	g.verdict, g.evidence, g.score = v, ev, score(ev)
}

// Suspects returns the leak sites that show growth, at most
// Config.MaxSuspects, in the order a user should act on them: every leak
// before every watch (a score is a confidence within its verdict, not
// comparable across them), then the fastest growth, then the most live
// bytes (then the highest score, then the stack, for a fixed order). The
// detector judges each source-level stack (from the first frame outside
// the runtime); a site is every such stack with the same leak site and
// frames outward (see Suspect), and takes the verdict, evidence and
// stack of its strongest one.
func (t *Target) Suspects() []Suspect {
	t.mu.Lock()
	defer t.mu.Unlock()
	bySite := map[string][]Suspect{}
	for _, g := range t.groups {
		if g.verdict != "" {
			bySite[g.key] = append(bySite[g.key], g.suspect())
		}
	}
	out := make([]Suspect, 0, len(bySite))
	for _, parts := range bySite {
		out = append(out, mergeSite(parts))
	}
	slices.SortFunc(out, func(a, b Suspect) int {
		return CompareSuspects(a, b)
	})
	if len(out) > t.cfg.MaxSuspects {
		out = out[:t.cfg.MaxSuspects]
	}
	return out
}

// mergeSite makes one Suspect of the judged stacks of one leak site: the
// strongest (CompareSuspects) gives the verdict, evidence, score, stack
// and line; sizes and growth add up; AllocatedIn and StackIDs are the
// union; FirstLeakAt the earliest.
func mergeSite(parts []Suspect) Suspect {
	slices.SortFunc(parts, CompareSuspects)
	s := parts[0]
	s.StackIDs = slices.Clone(s.StackIDs)
	s.AllocatedIn = slices.Clone(s.AllocatedIn)
	for _, p := range parts[1:] {
		s.LiveBytes += p.LiveBytes
		s.LiveObjects += p.LiveObjects
		s.OldBytes += p.OldBytes
		s.AllocBytes += p.AllocBytes
		s.AllocObjects += p.AllocObjects
		s.GrowthBytesPerSecond += p.GrowthBytesPerSecond
		s.StackIDs = append(s.StackIDs, p.StackIDs...)
		for _, fn := range p.AllocatedIn {
			if !slices.Contains(s.AllocatedIn, fn) {
				s.AllocatedIn = append(s.AllocatedIn, fn)
			}
		}
		if !p.FirstLeakAt.IsZero() && (s.FirstLeakAt.IsZero() || p.FirstLeakAt.Before(s.FirstLeakAt)) {
			s.FirstLeakAt = p.FirstLeakAt
		}
	}
	slices.Sort(s.StackIDs)
	slices.Sort(s.AllocatedIn)
	return s
}

// CompareSuspects is the order of Suspects (negative: a first).
func CompareSuspects(a, b Suspect) int {
	return cmp.Or(
		cmp.Compare(verdictRank(a.Verdict), verdictRank(b.Verdict)),
		cmp.Compare(b.GrowthBytesPerSecond, a.GrowthBytesPerSecond),
		cmp.Compare(b.LiveBytes, a.LiveBytes),
		cmp.Compare(b.Score, a.Score),
		slices.Compare(a.Stack, b.Stack),
	)
}

func verdictRank(v Verdict) int {
	switch v {
	case VerdictLeak:
		return 0
	case VerdictWatch:
		return 1
	}
	return 2
}

// Stacks returns every group seen in the latest snapshot with its current
// values, most live bytes first.
func (t *Target) Stacks() []Stack {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Stack
	for _, g := range t.groups {
		c := &g.cur
		if c.allocs == 0 && c.liveObjects == 0 {
			continue
		}
		out = append(out, Stack{
			Frames:       slices.Clone(g.frames),
			StackIDs:     slices.Sorted(slices.Values(g.ids)),
			LiveObjects:  c.liveObjects,
			LiveBytes:    c.liveBytes,
			AllocObjects: c.allocObjects,
			AllocBytes:   c.allocBytes,
			AgeGCCycles:  int64(c.ageSum),
			OldBytes:     int64(c.pt.old),
			Verdict:      g.verdict,
			Score:        g.score,
		})
	}
	slices.SortFunc(out, func(a, b Stack) int {
		return cmp.Or(
			cmp.Compare(b.LiveBytes, a.LiveBytes),
			cmp.Compare(b.AllocBytes, a.AllocBytes),
			slices.Compare(a.StackIDs, b.StackIDs),
		)
	})
	return out
}
