package metrics

import (
	"cmp"
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/report"
)

// Retention-path series. held_by carries the root of a suspect's first
// path: one per leak site, so bounded like the suspects.
var (
	retAvailable = desc("retention", "available", "1 when the target's heap can be searched for what holds its leaks (or no search was needed yet), 0 when it cannot or searching is off.", targetLabels...)
	retSearches  = desc("retention", "searches_total", "Retention-path searches of the target, by trigger (auto: a new leak verdict or a stale path; on_demand: asked from the web view or API).", append(targetLabels, "trigger")...)
	retCut       = desc("retention", "cut_searches_total", "Searches the budget stopped before every searched object had a root.", targetLabels...)
	retSeconds   = desc("retention", "search_seconds_total", "Wall time spent searching the target's heap.", targetLabels...)
	retCPU       = desc("retention", "cpu_seconds_total", "leakscope's CPU time spent searching the target's heap.", targetLabels...)
	retScanned   = desc("retention", "last_scanned_bytes", "Memory the latest search read from the target (heap, data, stacks).", targetLabels...)
	retDropped   = desc("retention", "dropped_total", "What searches could not read or did not believe, by reason (spans, stacks, heap pieces, paths changed on re-read, runtime holders).", append(targetLabels, "reason")...)
	retHeldBy    = desc("suspect", "held_by_samples", "Sampled objects of the leak site held through the root of its first retention path.", append(targetLabels, "function", "root")...)
)

var retentionDescs = []*prometheus.Desc{retAvailable, retSearches, retCut, retSeconds, retCPU, retScanned, retDropped, retHeldBy}

// collectRetention adds a target's retention series; gauge and counter
// prefix the target's labels.
func collectRetention(r *report.RetentionSearches, suspects []analysis.Suspect, gauge, counter func(*prometheus.Desc, float64, ...string)) {
	if r == nil {
		return
	}
	gauge(retAvailable, boolValue(r.Status == report.RetentionOn || r.Status == report.RetentionIdle))
	counter(retSearches, float64(r.Searches-r.OnDemand), "auto")
	counter(retSearches, float64(r.OnDemand), "on_demand")
	counter(retCut, float64(r.Cut))
	counter(retSeconds, r.SearchSeconds)
	counter(retCPU, r.CPUSeconds)
	gauge(retScanned, float64(r.LastScannedBytes))
	for _, why := range slices.Sorted(maps.Keys(r.Dropped)) {
		counter(retDropped, float64(r.Dropped[why]), why)
	}
	// Suspects of one function (different callers) may share a root: one
	// series, summed.
	type key struct{ function, root string }
	held := map[key]int{}
	for _, s := range suspects {
		if s.RetainedBy != nil && len(s.RetainedBy.Paths) > 0 {
			p := s.RetainedBy.Paths[0]
			held[key{s.Function, p.Root}] += p.Samples
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(held), func(a, b key) int {
		return cmp.Or(cmp.Compare(a.function, b.function), cmp.Compare(a.root, b.root))
	}) {
		gauge(retHeldBy, float64(held[k]), k.function, k.root)
	}
}
