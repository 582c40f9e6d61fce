package monitor

import (
	"context"
	"time"

	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/report"
	"github.com/leakscope/leakscope/snapshot"
)

// PprofConfig is the cross-check against the targets' own heap profiles.
type PprofConfig struct {
	URLs     map[uint32]string // endpoints given by the user, by pid
	Discover bool              // probe the target's listening sockets
	GC       bool              // let fetches force a GC (?gc=1)
	Interval time.Duration     // between fetches; 0: crosscheck's default
}

// pprofCheck is one target's cross-check state.
type pprofCheck struct {
	watch *crosscheck.Watcher // nil: no endpoint to fetch from
	cmp   *crosscheck.Comparator
	stale time.Duration // a profile this far from leakscope's read is not compared
}

// startPprof starts fetching the target's own heap profile in the
// background; stopPprof ends it.
func (t *target) startPprof(ctx context.Context, cfg PprofConfig) {
	interval := cfg.Interval
	if interval <= 0 {
		interval = crosscheck.DefaultInterval
	}
	// A profile older than a few fetch rounds says nothing about now.
	stale := 3*interval + crosscheck.DefaultTimeout
	t.pprof = &pprofCheck{cmp: crosscheck.NewComparator(t.attachedAt, stale), stale: stale}
	url := cfg.URLs[t.id.pid]
	if url == "" && !cfg.Discover {
		return
	}
	t.pprof.watch = crosscheck.Watch(ctx, crosscheck.WatchConfig{
		PID:      int(t.id.pid),
		URL:      url,
		Discover: cfg.Discover,
		Interval: interval,
		GC:       cfg.GC,
		// The goroutine profile too, when leakscope reads the goroutines.
		Goroutines: t.gor != nil && t.gor.tracker != nil,
		// Its leak profile runs a GC cycle in the target: only where
		// fetches may force one.
		GoroutineLeak: cfg.GC && t.gor != nil && t.gor.tracker != nil,
	})
}

func (t *target) stopPprof() {
	if t.pprof != nil && t.pprof.watch != nil {
		t.pprof.watch.Stop()
	}
}

// observePprof gives the comparison leakscope's view at snapshot s and
// the latest profile fetched, without waiting for a fetch.
func (t *target) observePprof(s *snapshot.Snapshot) {
	if t.pprof == nil || t.pprof.watch == nil {
		return // nothing to compare with
	}
	t.pprof.cmp.Observe(s.Time, s.GCCycles, t.analysis.Stacks())
	t.pprof.cmp.Offer(t.pprof.watch.Status().Heap)
	t.pprof.watch.Kick() // a due fetch lands right after this snapshot
}

// checkPprof fills the suspects' cross-check and returns the target's.
func (t *target) checkPprof(rt *report.Target) {
	if t.pprof == nil {
		return
	}
	t.pprof.cmp.SetRates(crosscheck.Rates{Before: t.rateBefore, Now: t.rateNow, SetByUs: t.rateChanged})
	var st *crosscheck.Status
	if w := t.pprof.watch; w != nil {
		s := w.Status()
		st = &s
	}
	tc := t.pprof.cmp.Check(time.Now(), rt.Suspects, st)
	rt.Pprof = &tc
}

// checkPprofGoroutines fills the goroutine suspects' cross-check with the
// target's own goroutine profile and returns the target's; nil when the
// goroutines are not read.
func (t *target) checkPprofGoroutines(suspects []goroutines.Suspect) *crosscheck.GoroutineCheck {
	gw := t.gor
	if t.pprof == nil || gw == nil || gw.tracker == nil {
		return nil
	}
	var st *crosscheck.Status
	if w := t.pprof.watch; w != nil {
		s := w.Status()
		st = &s
	}
	gc := crosscheck.CompareGoroutines(st, gw.reading, suspects, t.pprof.stale)
	return &gc
}
