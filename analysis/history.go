package analysis

import "time"

// maxTrendPoints caps the points handed to the O(n²) statistics; longer
// windows (short intervals) are thinned evenly.
const maxTrendPoints = 120

// observation is the target-wide part of one snapshot.
type observation struct {
	t      time.Time
	gc     uint64
	hidden hiddenFrees // cumulative losses that can hide frees
}

// history holds the observations of the current evidence window. After
// add, obs is exactly the window: the shortest suffix spanning
// Config.Window and Config.WindowGC, or all that is kept (at most
// Config.MaxWindow) when no suffix does yet. The start of a complete
// window never moves back (time and GC count only grow), so anything
// before it can be dropped for good.
type history struct {
	obs  []observation
	base uint64 // sequence number of obs[0]; sequence numbers never reset
	// sinceAttach: obs[0] is the first snapshot since the tracer
	// attached, and nothing has been dropped since. Every count in the
	// snapshots (live objects, frees, GC cycles) was then zero at attach,
	// which the detector uses as one more, exactly known, point.
	// Cleared when the window starts to slide or after a restart that
	// did not reset the kernel's counts (MemProfileRate change).
	sinceAttach bool
}

// next is the sequence number the next observation will get.
func (h *history) next() uint64 { return h.base + uint64(len(h.obs)) }

// add appends o and trims the history to the window.
func (h *history) add(o observation, cfg Config) {
	h.obs = append(h.obs, o)
	drop := 0
	for drop < len(h.obs)-1 && o.t.Sub(h.obs[drop].t) > cfg.MaxWindow {
		drop++
	}
	drop = max(drop, len(h.obs)-cfg.maxPoints())
	for i := len(h.obs) - 1; i >= drop; i-- {
		if o.t.Sub(h.obs[i].t) >= cfg.Window && o.gc-h.obs[i].gc >= uint64(cfg.WindowGC) {
			drop = i
			break
		}
	}
	h.obs = h.obs[drop:]
	h.base += uint64(drop)
	if drop > 0 {
		h.sinceAttach = false
	}
}

// reset forgets every observation, keeping sequence numbers increasing;
// attached says the kernel's counts restarted from zero too.
func (h *history) reset(attached bool) {
	h.base = h.next()
	h.obs = nil
	h.sinceAttach = attached
}

// attachTime estimates when the tracer attached: one snapshot period
// (the first gap, or cfg.Interval) before the first snapshot.
func (h *history) attachTime(cfg Config) time.Time {
	gap := cfg.Interval
	if len(h.obs) > 1 {
		gap = h.obs[1].t.Sub(h.obs[0].t)
	}
	return h.obs[0].t.Add(-gap)
}

// points returns the indices of obs to test: one per GC count, the last
// (once that collection's frees are in), thinned to maxTrendPoints. Old
// objects only change when a GC runs: repeating a point per snapshot
// between two collections would fake evidence.
func (h *history) points() []int {
	var idx []int
	for i := range h.obs {
		if i == len(h.obs)-1 || h.obs[i+1].gc != h.obs[i].gc {
			idx = append(idx, i)
		}
	}
	if len(idx) <= maxTrendPoints {
		return idx
	}
	thin := make([]int, maxTrendPoints)
	for i := range thin {
		thin[i] = idx[i*(len(idx)-1)/(maxTrendPoints-1)]
	}
	return thin
}
