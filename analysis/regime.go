package analysis

import (
	"fmt"
	"time"
)

// GCRegime is how often a target collects, which sets how long a verdict
// takes: the overdue rule needs Config.MinWindowGC collections past the
// overdue age, the survival rule minSurvivalGC, both at least
// Config.MinWindow.
type GCRegime struct {
	// WatchedSeconds and GCCycles since attach (or since the tracer
	// last re-attached).
	WatchedSeconds float64 `json:"watched_seconds"`
	GCCycles       uint64  `json:"gc_cycles"`
	// CyclesPerMinute over the watch; SecondsSinceGC is how long ago the
	// GC count last changed (as of the latest snapshot; -1 before any).
	CyclesPerMinute float64 `json:"cycles_per_minute"`
	SecondsSinceGC  float64 `json:"seconds_since_gc"`
	// SampledHeapGrowthBytesPerSecond is the growth of the live heap
	// allocated since attach, estimated from the samples (scaled), over
	// the watch: what drives collections when the program allocates
	// little else.
	SampledHeapGrowthBytesPerSecond float64 `json:"sampled_heap_growth_bytes_per_second"`
	// Summary says what the regime means for verdicts, e.g. "rare GC
	// (0.5 per minute): a leak is named after 3 collections, ~6 min".
	Summary string `json:"summary"`
}

// regimeTracker follows the GC count across snapshots.
type regimeTracker struct {
	first, last, gcChanged time.Time
	gc                     uint64
	gcSeen                 bool
	liveBytes              float64 // scaled live bytes of every group, latest snapshot
}

func (r *regimeTracker) observe(t time.Time, gc uint64, liveBytes float64, attach time.Time) {
	if r.first.IsZero() {
		r.first = attach
	}
	if gc != r.gc || !r.gcSeen && gc > 0 {
		r.gcChanged, r.gcSeen = t, gc > 0
	}
	r.last, r.gc, r.liveBytes = t, gc, liveBytes
}

// Regime returns the target's GC regime as of the latest snapshot; zero
// before the first.
func (t *Target) Regime() GCRegime {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := &t.regime
	if r.last.IsZero() {
		return GCRegime{SecondsSinceGC: -1}
	}
	g := GCRegime{WatchedSeconds: r.last.Sub(r.first).Seconds(), GCCycles: r.gc, SecondsSinceGC: -1}
	if r.gcSeen {
		g.SecondsSinceGC = r.last.Sub(r.gcChanged).Seconds()
	}
	if g.WatchedSeconds > 0 {
		g.CyclesPerMinute = float64(r.gc) / g.WatchedSeconds * 60
		g.SampledHeapGrowthBytesPerSecond = r.liveBytes / g.WatchedSeconds
	}
	g.Summary = regimeSummary(t.cfg, g)
	return g
}

func regimeSummary(cfg Config, g GCRegime) string {
	perMin := g.CyclesPerMinute
	switch {
	case g.GCCycles == 0:
		return fmt.Sprintf("no GC in %.0f s: nothing can be told garbage from a leak yet; growth is reported as watch", g.WatchedSeconds)
	case perMin >= float64(cfg.MinWindowGC+4)/cfg.MinWindow.Minutes():
		// The overdue series starts once objects allocated at attach are
		// old enough (at least MinOldAgeGC collections), and must then
		// span MinWindow: a lower bound, as a site whose own objects
		// usually live longer has a later overdue age.
		soonest := cfg.MinWindow.Seconds() + float64(cfg.MinOldAgeGC)*60/perMin
		return fmt.Sprintf("frequent GC (%.1f per minute): a leak can be named from %.0f s after attach (later where the site's objects usually live several collections)", perMin, soonest)
	default:
		need := max(cfg.MinWindow.Minutes(), minSurvivalGC/perMin)
		return fmt.Sprintf("rare GC (%.1f per minute): a leak whose objects are never freed is named after %d collections (~%.0f min); one whose site also frees survivors needs %d past the overdue age (~%.0f min)",
			perMin, minSurvivalGC, need, cfg.MinWindowGC, float64(cfg.MinWindowGC+3)/perMin)
	}
}
