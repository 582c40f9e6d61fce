package analysis

import (
	"cmp"
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
	// rateRef is the last snapshot's RateRef: the rate its sampled counts
	// are at, when rate-weighted.
	rateRef int64
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
		case t.countRate(s) != t.countRate(nil):
			// The counts are at another rate: only when the rate moves
			// for the first time past its highest since attach, with
			// rate-weighted snapshots (RateRef); at every change without.
			t.restart(false)
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
	idx := t.hist.points()
	lossy := len(t.hist.lossesInWindow()) > 0
	for _, g := range t.groups {
		g.record(seq, k)
		g.trim(t.hist.base)
		t.judge(g, idx, s.Time, lossy)
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
	}
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
		g = &group{frames: slices.Clone(frames)}
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
func (t *Target) judge(g *group, idx []int, now time.Time, lossy bool) {
	wasLeak := g.verdict == VerdictLeak
	g.verdict, g.evidence, g.score = "", Evidence{}, 0
	k := t.cfg.MinOldAgeGC
	if len(g.pts) == 0 || g.cur.ages.liveAtLeast(k) == 0 || len(idx) == 0 {
		return
	}
	usual := g.cur.ages.usualFreeAge(k)
	w := g.window(&t.hist, idx, k, usual, t.hist.attachTime(t.cfg), t.hist.sinceAttach)
	v, ev := assess(t.cfg, w, usual, wasLeak)
	if v == "" {
		return
	}
	if v == VerdictLeak && lossy {
		v, ev.FreesMayBeMissing = VerdictWatch, true
	}
	if allocs := g.cur.allocs; allocs > 0 {
		ev.UnfreedShare = clamp01(float64(allocs-min(g.cur.frees, allocs)) / float64(allocs))
	}
	g.verdict, g.evidence, g.score = v, ev, score(ev)
	if v == VerdictLeak && g.firstLeak.IsZero() {
		g.firstLeak = now
	}
}

// Suspects returns the groups whose old bytes grow, highest score first
// (then fastest growth, then most live bytes), at most Config.MaxSuspects.
func (t *Target) Suspects() []Suspect {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Suspect
	for _, g := range t.groups {
		if g.verdict != "" {
			out = append(out, g.suspect())
		}
	}
	slices.SortFunc(out, func(a, b Suspect) int {
		return cmp.Or(
			cmp.Compare(b.Score, a.Score),
			cmp.Compare(b.GrowthBytesPerSecond, a.GrowthBytesPerSecond),
			cmp.Compare(b.LiveBytes, a.LiveBytes),
			slices.Compare(a.Stack, b.Stack),
		)
	})
	if len(out) > t.cfg.MaxSuspects {
		out = out[:t.cfg.MaxSuspects]
	}
	return out
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
