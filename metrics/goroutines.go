package metrics

import (
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/report"
)

// Goroutine-leak series. Per-group series carry the creation site's
// function ("created_by"): at most the report's suspects per target, so
// bounded like the heap suspects.
var (
	gorLive     = desc("goroutines", "live", "Live goroutines of the target at the last read, by state.", append(targetLabels, "state")...)
	gorReading  = desc("goroutines", "reading", "1 when the target's goroutines are read and verified, 0 when that part is off or failed.", targetLabels...)
	gorLost     = desc("goroutines", "lost", "Goroutines of the last read not counted, by reason (skipped over the cap, g structs that did not validate, ungrouped).", append(targetLabels, "reason")...)
	gorReadTime = desc("goroutines", "read_duration_seconds", "Time the last read of the target's goroutines took.", targetLabels...)
	gorGroup    = desc("goroutine_suspect", "goroutines", "Goroutines of the creation site.", append(targetLabels, "created_by")...)
	gorGrowth   = desc("goroutine_suspect", "growth_per_second", "Growth of the creation site's goroutine count (Theil-Sen slope).", append(targetLabels, "created_by")...)
	gorStack    = desc("goroutine_suspect", "stack_bytes", "Stack memory held by the creation site's goroutines.", append(targetLabels, "created_by")...)
	gorLeak     = desc("goroutine_suspect", "leak", "1 when the creation site's verdict is leak, 0 otherwise.", append(targetLabels, "created_by")...)
	// The cross-check with the target's own goroutine profile.
	gorPprofTotals = desc("goroutines", "pprof_totals_agree", "1 when the target's own goroutine profile and leakscope count as many goroutines outside the runtime, 0 when not; absent when not compared.", targetLabels...)
	gorPprofGroups = desc("goroutines", "pprof_suspects", "Goroutine suspects by cross-check status with the target's own goroutine profile (agrees, disagrees, unavailable).", append(targetLabels, "status")...)
	gorPprof       = desc("goroutine_suspect", "pprof_agrees", "1 when the target's own goroutine profile counts as many goroutines where the creation site's goroutines are blocked, 0 when not; absent when not compared.", append(targetLabels, "created_by")...)
)

var goroutineDescs = []*prometheus.Desc{gorLive, gorReading, gorLost, gorReadTime, gorGroup, gorGrowth, gorStack, gorLeak, gorPprofTotals, gorPprofGroups, gorPprof}

// collectGoroutines adds a target's goroutine series; gauge prefixes the
// target's labels.
func collectGoroutines(g *report.Goroutines, gauge func(*prometheus.Desc, float64, ...string)) {
	if g == nil {
		return
	}
	gauge(gorReading, boolValue(g.Status == report.GoroutinesWatching))
	if g.Status != report.GoroutinesWatching {
		return
	}
	gauge(gorReadTime, g.ReadSeconds)
	for _, s := range slices.Sorted(maps.Keys(g.Summary.Live)) {
		gauge(gorLive, float64(g.Summary.Live[s]), s)
	}
	lost := map[string]int{"skipped": g.Summary.Skipped, "ungrouped": g.Summary.Ungrouped}
	for k, v := range g.Summary.Dropped {
		lost[k] += v
	}
	for _, r := range slices.Sorted(maps.Keys(lost)) {
		gauge(gorLost, float64(lost[r]), r)
	}
	// Several groups may share a creation function (different lines or
	// start functions): one series each, summed.
	type agg struct {
		count, growth, stack float64
		leak                 bool
		pprof                int // 0 not compared, 1 all agree, -1 one disagrees
	}
	by := map[string]*agg{}
	for _, s := range g.Suspects {
		a := by[s.CreatedBy.Function]
		if a == nil {
			a = &agg{}
			by[s.CreatedBy.Function] = a
		}
		a.count += float64(s.Count)
		a.growth += s.GrowthPerSecond
		a.stack += float64(s.StackBytes)
		a.leak = a.leak || s.Verdict == goroutines.VerdictLeak
		if p := s.Pprof; p != nil && p.Status == goroutines.PprofDisagrees {
			a.pprof = -1
		} else if p != nil && p.Status == goroutines.PprofAgrees && a.pprof == 0 {
			a.pprof = 1
		}
	}
	for _, fn := range slices.Sorted(maps.Keys(by)) {
		a := by[fn]
		gauge(gorGroup, a.count, fn)
		gauge(gorGrowth, a.growth, fn)
		gauge(gorStack, a.stack, fn)
		gauge(gorLeak, boolValue(a.leak), fn)
		if a.pprof != 0 {
			gauge(gorPprof, boolValue(a.pprof > 0), fn)
		}
	}
	if c := g.Pprof; c != nil && c.Status != crosscheck.StatusOff {
		if c.TotalStatus != goroutines.PprofUnavailable {
			gauge(gorPprofTotals, boolValue(c.TotalStatus == goroutines.PprofAgrees))
		}
		gauge(gorPprofGroups, float64(c.Agreed), goroutines.PprofAgrees)
		gauge(gorPprofGroups, float64(c.Disagreed), goroutines.PprofDisagrees)
		gauge(gorPprofGroups, float64(c.Unavailable), goroutines.PprofUnavailable)
	}
}
