package metrics

import (
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

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
)

var goroutineDescs = []*prometheus.Desc{gorLive, gorReading, gorLost, gorReadTime, gorGroup, gorGrowth, gorStack, gorLeak}

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
	}
	for _, fn := range slices.Sorted(maps.Keys(by)) {
		a := by[fn]
		gauge(gorGroup, a.count, fn)
		gauge(gorGrowth, a.growth, fn)
		gauge(gorStack, a.stack, fn)
		gauge(gorLeak, boolValue(a.leak), fn)
	}
}
