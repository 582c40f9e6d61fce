package crosscheck

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/leakscope/leakscope/analysis"
)

// Target statuses of the cross-check.
const (
	StatusOK          = "ok"          // the latest fetch succeeded
	StatusStale       = "stale"       // it failed; an older profile is used
	StatusUnavailable = "unavailable" // no profile fetched (yet)
	StatusOff         = "off"         // no endpoint given, discovery off
)

// TargetCheck is the cross-check of one target, for suspects.json. Field
// names are a contract: add, never rename.
type TargetCheck struct {
	URL        string `json:"url"`
	Discovered bool   `json:"discovered"`
	Status     string `json:"status"`
	// AgreementScore is the share of the suspects compared that agree;
	// null when none could be compared.
	AgreementScore *float64 `json:"agreement_score"`
	Agreed         int      `json:"agreed"`
	Disagreed      int      `json:"disagreed"`
	Unavailable    int      `json:"unavailable"`
	// The latest successful fetch, and the baseline the growth is
	// counted from (at most about five minutes before the latest).
	FetchedAt  time.Time `json:"fetched_at,omitzero"`
	BaselineAt time.Time `json:"baseline_at,omitzero"`
	// MemProfileRate the target scaled its latest profile with.
	ProfileRate int64     `json:"profile_rate"`
	LastError   string    `json:"last_error"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	Fetches     uint64    `json:"fetches"`
	Failures    uint64    `json:"failures"`
	// ScalingAffectedByLeakscope: leakscope wrote the target's
	// runtime.MemProfileRate, so the target's own profile shows samples
	// (and scaling) of leakscope's making; Note says how.
	ScalingAffectedByLeakscope bool   `json:"scaling_affected_by_leakscope"`
	Note                       string `json:"note,omitempty"`
}

// Rates is what leakscope did to the target's MemProfileRate.
type Rates struct {
	Before, Now int64
	SetByUs     bool
}

// maxObservations is how many snapshots are kept to place a profile in
// time; profiles are picked up every snapshot, so a few are enough.
const maxObservations = 8

// Comparator holds one target's comparison state. It is used from the
// monitor's loop only.
type Comparator struct {
	obs []observation // the latest snapshots, the attach first until dropped
	// anchors are placed profiles, oldest first, spaced at least
	// compareWindow/anchorsPerWindow apart (the newest excepted) and
	// reaching back just past compareWindow: base is the first, latest
	// the last (nil while there is only one).
	anchors      []*anchor
	base, latest *anchor
	pending      *Heap // offered, not yet placed (no snapshot after it)
	lastOffered  *Heap
	staleAfter   time.Duration
	rates        Rates
}

// observation is leakscope's old bytes per site at one snapshot.
type observation struct {
	t   time.Time
	gc  float64
	old map[string]float64 // by siteKey
}

// anchor is a runtime profile with leakscope's old bytes at its time.
type anchor struct {
	heap *Heap
	gc   float64 // leakscope's GC count then (interpolated)
	old  map[string]float64
	// settled: two GC cycles had completed since attach by the snapshot
	// before it, so the runtime's profile (as of the cycle before the
	// latest) already counts every object allocated between that
	// runtime-published cycle and attach; see add.
	settled bool
}

// NewComparator starts comparing at attach, when leakscope held nothing.
// A profile older than staleAfter is not compared.
func NewComparator(attach time.Time, staleAfter time.Duration) *Comparator {
	return &Comparator{
		obs:        []observation{{t: attach, old: map[string]float64{}}},
		staleAfter: staleAfter,
	}
}

// SetRates records the target's MemProfileRate history.
func (c *Comparator) SetRates(r Rates) { c.rates = r }

// Observe records leakscope's stacks at a snapshot (time t, GC cycles
// since attach gc).
func (c *Comparator) Observe(t time.Time, gc uint64, stacks []analysis.Stack) {
	if n := len(c.obs); n > 0 && !t.After(c.obs[n-1].t) {
		return
	}
	o := observation{t: t, gc: float64(gc), old: make(map[string]float64, len(stacks))}
	for _, s := range stacks {
		if s.OldBytes == 0 {
			continue
		}
		names := make([]string, len(s.Frames))
		for i, f := range s.Frames {
			names[i] = frameName(f.Function, f.PC)
		}
		o.old[siteKey(names)] += float64(s.OldBytes)
	}
	c.obs = append(c.obs, o)
	if len(c.obs) > maxObservations {
		c.obs = slices.Delete(c.obs, 0, len(c.obs)-maxObservations)
	}
	c.place()
}

func frameName(fn string, pc uint64) string {
	if fn != "" {
		return fn
	}
	return fmt.Sprintf("0x%x", pc)
}

// Offer hands over the Watcher's latest profile (nil: none yet); it is
// compared once a snapshot at or after its time exists.
func (c *Comparator) Offer(h *Heap) {
	if h == nil || h == c.lastOffered {
		return
	}
	c.lastOffered, c.pending = h, h
	c.place()
}

// place anchors the pending profile at leakscope's values at its time,
// linearly interpolated between the snapshots around it.
func (c *Comparator) place() {
	h := c.pending
	if h == nil {
		return
	}
	last := c.obs[len(c.obs)-1]
	if h.FetchedAt.After(last.t) {
		return // wait for the next snapshot
	}
	c.pending = nil
	i := slices.IndexFunc(c.obs, func(o observation) bool { return !o.t.Before(h.FetchedAt) })
	if i <= 0 {
		return // before every snapshot kept: cannot be placed
	}
	a, b := c.obs[i-1], c.obs[i]
	w := float64(h.FetchedAt.Sub(a.t)) / float64(b.t.Sub(a.t))
	an := &anchor{heap: h, gc: a.gc + w*(b.gc-a.gc), old: map[string]float64{}, settled: a.gc >= 2}
	for k, v := range a.old {
		an.old[k] += (1 - w) * v
	}
	for k, v := range b.old {
		an.old[k] += w * v
	}
	c.add(an)
}

// compareWindow is how far back the baseline may lie: about
// analysis.DefaultWindow. Objects from before attach are in the runtime's
// profile only; when they are freed the runtime's figure falls and
// leakscope's does not, so the baseline moves on, and once they are gone
// the two agree again. A leak's objects are never freed, so any baseline
// serves for it.
const (
	compareWindow    = 5 * time.Minute
	anchorsPerWindow = 8
)

// add appends a placed profile and moves the baseline.
func (c *Comparator) add(an *anchor) {
	if n := len(c.anchors); n > 0 && c.anchors[n-1].heap.Period != an.heap.Period {
		// The rate changed: samples before and after scale differently.
		c.anchors = nil
	}
	n := len(c.anchors)
	if n == 1 && !c.anchors[0].settled {
		// A baseline fetched before two cycles had completed since
		// attach misses what was allocated between the runtime's
		// published cycle (one before attach) and attach: in the
		// runtime's later profiles, never in leakscope's. A settled
		// baseline counts those objects on both sides of the growth.
		c.anchors[0] = an
	} else if n >= 2 && an.heap.FetchedAt.Sub(c.anchors[n-2].heap.FetchedAt) < compareWindow/anchorsPerWindow {
		c.anchors[n-1] = an // too close to the one before: replace
	} else {
		c.anchors = append(c.anchors, an)
	}
	from := an.heap.FetchedAt.Add(-compareWindow)
	for len(c.anchors) > 2 && !c.anchors[1].heap.FetchedAt.After(from) {
		c.anchors = c.anchors[1:]
	}
	c.base, c.latest = c.anchors[0], nil
	if len(c.anchors) > 1 {
		c.latest = c.anchors[len(c.anchors)-1]
	}
}

// Tolerances of the comparison. Both sides count the same sampled
// objects, scaled alike, so what separates them is timing: interpolating
// between snapshots places the runtime's profile only to within about a
// GC cycle, objects that became garbage at the latest cycle are in both
// until swept but leave them at different moments, and a few samples at
// the window's edges fall on either side. Relative: a quarter of the
// growth; absolute: a few samples plus two cycles' worth of growth.
const (
	relTolerance  = 0.25
	slackSamples  = 4 // sampled objects' worth of bytes
	slackGCCycles = 2 // cycles' worth of the site's growth
)

// Check fills s.Pprof for every suspect and returns the target's summary.
// st is the Watcher's status (nil: no endpoint to fetch from).
func (c *Comparator) Check(now time.Time, suspects []analysis.Suspect, st *Status) TargetCheck {
	tc := TargetCheck{LastError: "", Status: StatusUnavailable}
	c.noteScaling(&tc)
	var why string
	switch {
	case st == nil:
		why = "no pprof endpoint: none given and discovery is off"
		tc.Status = StatusOff
	default:
		tc.URL, tc.Discovered = st.URL, st.Discovered
		tc.LastError, tc.LastErrorAt = st.LastError, st.ErrorAt
		tc.Fetches, tc.Failures = st.Fetches, st.Failures
		if st.Heap != nil {
			tc.Status = StatusOK
			if st.ErrorAt.After(st.Heap.FetchedAt) {
				tc.Status = StatusStale
			}
			tc.FetchedAt, tc.ProfileRate = st.Heap.FetchedAt, st.Heap.Period
		}
	}
	if why == "" {
		why = c.unavailable(now, st)
	}
	if c.base != nil {
		tc.BaselineAt = c.base.heap.FetchedAt
	}
	for i := range suspects {
		s := &suspects[i]
		s.Pprof = c.checkSuspect(s, why)
		switch s.Pprof.Status {
		case analysis.PprofAgrees:
			tc.Agreed++
		case analysis.PprofDisagrees:
			tc.Disagreed++
		default:
			tc.Unavailable++
		}
	}
	if n := tc.Agreed + tc.Disagreed; n > 0 {
		score := float64(tc.Agreed) / float64(n)
		tc.AgreementScore = &score
	}
	return tc
}

// unavailable returns why no suspect can be compared, or "".
func (c *Comparator) unavailable(now time.Time, st *Status) string {
	switch {
	case st.Heap == nil && st.LastError != "":
		return st.LastError
	case st.Heap == nil:
		return "no profile fetched yet"
	case c.base == nil:
		return "the first profile is not yet placed among leakscope's snapshots"
	case c.latest == nil:
		return "waiting for a second profile (the first is the baseline growth is counted from)"
	case now.Sub(c.latest.heap.FetchedAt) > c.staleAfter:
		msg := fmt.Sprintf("the latest profile is %s old", now.Sub(c.latest.heap.FetchedAt).Round(time.Second))
		if st.LastError != "" {
			msg += ": " + st.LastError
		}
		return msg
	}
	return ""
}

func (c *Comparator) checkSuspect(s *analysis.Suspect, why string) *analysis.PprofCheck {
	pc := &analysis.PprofCheck{Status: analysis.PprofUnavailable, Reason: why}
	frames := suspectFrames(s.Stack)
	ref := c.latest
	if ref == nil {
		ref = c.base
	}
	if ref != nil {
		pc.InuseBytes, pc.InuseObjects, _ = runtimeInuse(ref.heap, frames)
	}
	if why != "" {
		return pc
	}
	r1, _, found := runtimeInuse(c.latest.heap, frames)
	r0, _, _ := runtimeInuse(c.base.heap, frames)
	key := siteKey(frames)
	dR := float64(r1 - r0)
	dL := c.latest.old[key] - c.base.old[key]
	pc.RuntimeGrowthBytes, pc.LeakscopeGrowthBytes = int64(dR), int64(math.Round(dL))
	pc.WindowSeconds = c.latest.heap.FetchedAt.Sub(c.base.heap.FetchedAt).Seconds()

	slack := slackSamples * float64(max(c.latest.heap.Period, 1))
	if cycles := c.latest.gc - c.base.gc; cycles > 0 {
		slack += slackGCCycles * math.Abs(dL) / cycles
	}
	tol := relTolerance*math.Max(math.Abs(dR), math.Abs(dL)) + slack
	switch {
	case !found && dL > slack:
		pc.Status = analysis.PprofDisagrees
		pc.Reason = fmt.Sprintf("no stack in the target's heap profile matches this site, where leakscope's old bytes grew %s (wrong symbols?)", human(dL))
	case math.Abs(dR-dL) <= tol:
		pc.Status = analysis.PprofAgrees
		pc.Reason = fmt.Sprintf("over %.0fs both grew alike: runtime %s, leakscope %s", pc.WindowSeconds, human(dR), human(dL))
	case dR < 0:
		pc.Status = analysis.PprofDisagrees
		pc.Reason = fmt.Sprintf("the runtime's in-use bytes fell %s while leakscope's old bytes grew %s over %.0fs: objects from before attach (never seen by leakscope) were freed, or leakscope missed frees", human(-dR), human(dL), pc.WindowSeconds)
	case dL > dR:
		pc.Status = analysis.PprofDisagrees
		pc.Reason = fmt.Sprintf("leakscope's old bytes grew %s, the runtime's in-use bytes %s over %.0fs: leakscope holds objects the runtime freed (missed frees?)", human(dL), human(dR), pc.WindowSeconds)
	default:
		pc.Status = analysis.PprofDisagrees
		pc.Reason = fmt.Sprintf("the runtime's in-use bytes grew %s, leakscope's old bytes %s over %.0fs: leakscope missed samples or scaled them wrongly", human(dR), human(dL), pc.WindowSeconds)
	}
	return pc
}

// noteScaling says how leakscope's write to MemProfileRate affects the
// target's own profile.
func (c *Comparator) noteScaling(tc *TargetCheck) {
	r := c.rates
	if !r.SetByUs {
		return
	}
	tc.ScalingAffectedByLeakscope = true
	if r.Before == 0 {
		tc.Note = fmt.Sprintf("leakscope turned the target's heap sampling on (runtime.MemProfileRate 0 -> %d): its own heap profile shows samples only since then, and keeps its buckets after leakscope leaves", r.Now)
		return
	}
	tc.Note = fmt.Sprintf("leakscope changed the target's runtime.MemProfileRate from %d to %d: its own heap profile scales every sample, older ones too, with the current rate", r.Before, r.Now)
}

// suspectFrames turns "pkg.fn (file.go:12)" back into function names.
func suspectFrames(stack []string) []string {
	out := make([]string, len(stack))
	for i, s := range stack {
		name, _, _ := strings.Cut(s, " (")
		out[i] = name
	}
	return out
}

// runtimeInuse sums the profile's sites that match frames.
func runtimeInuse(h *Heap, frames []string) (bytes, objects int64, found bool) {
	if h == nil || len(frames) == 0 {
		return 0, 0, false
	}
	if s, ok := h.Sites[siteKey(frames)]; ok {
		return s.InuseBytes, s.InuseObjects, true // the usual case
	}
	for _, s := range h.Sites {
		if sameSite(frames, s.Frames) {
			bytes += s.InuseBytes
			objects += s.InuseObjects
			found = true
		}
	}
	return bytes, objects, found
}

// maxLeadingFrames is how many frames above the leak site the runtime's
// stack may keep that leakscope trims (runtime code linked into other
// packages, such as reflect.unsafe_New, which runtime/pprof shows).
const maxLeadingFrames = 3

// truncatedDepth: stacks this deep may have been cut (runtime/pprof kept
// 32 frames before Go 1.23).
const truncatedDepth = 32

// sameSite reports whether a runtime stack is leakscope's site: the same
// functions from the leak site outward, allowing a few leading frames,
// runtime.goexit at the bottom, one frame of difference in depth, and
// truncation.
func sameSite(site, stack []string) bool {
	site, stack = trimGoexit(site), trimGoexit(stack)
	if len(site) == 0 {
		return false
	}
	for i := 0; i <= maxLeadingFrames && i < len(stack); i++ {
		if stack[i] != site[0] {
			continue
		}
		rest := stack[i:]
		m := min(len(site), len(rest))
		if !slices.Equal(site[:m], rest[:m]) {
			continue
		}
		d := len(site) - len(rest)
		if d <= 1 && d >= -1 || m >= truncatedDepth {
			return true
		}
	}
	return false
}

func trimGoexit(f []string) []string {
	if n := len(f); n > 0 && f[n-1] == "runtime.goexit" {
		return f[:n-1]
	}
	return f
}

// human formats a signed byte count in MiB.
func human(b float64) string { return fmt.Sprintf("%.2f MiB", b/(1<<20)) }
