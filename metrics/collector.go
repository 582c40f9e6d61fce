package metrics

import (
	"maps"
	"runtime/debug"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/report"
)

const namespace = "leakscope"

// Labels of per-target series; per-suspect series add "function". pid is
// the host's, ns_pid the one the process sees in its own PID namespace.
// container_id is the container's ID; container (its name), pod and
// namespace are what its runtime records, named as Kubernetes' own
// metrics name them so that queries can join on them (empty when
// unknown). Each value is bounded (containermeta) and there is one set per
// target, so they add no series.
var targetLabels = []string{"pid", "ns_pid", "exe", "container_id", "container", "pod", "namespace"}

func desc(subsystem, name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, subsystem, name), help, labels, nil)
}

var (
	buildInfo = desc("", "build_info", "Build of leakscope; the value is 1.", "version", "goversion")
	targets   = desc("", "targets", "Processes in the latest report, by status.", "status")
	updated   = desc("", "last_update_timestamp_seconds", "When the latest results were made (Unix time).")
	snapTime  = desc("", "snapshot_duration_seconds", "Time the latest read of the kernel maps took.")
	probeSets = desc("", "probe_sets", "Executables with probes attached (one set shared by all their watched processes).")
	skipped   = desc("", "skipped_targets", "Selected processes that could not be watched (see suspects.json skipped).")
	mapBytes  = desc("bpf", "map_memory_bytes", "Kernel memory charged to each BPF map.", "map")
	progRuns  = desc("bpf", "program_runs_total", "Runs of each BPF program while the kernel's BPF statistics were on.", "program")
	progTime  = desc("bpf", "program_run_seconds_total", "Run time of each BPF program while the kernel's BPF statistics were on.", "program")

	liveBytes  = desc("target", "sampled_live_bytes", "Size of the sampled objects still alive (unscaled).", targetLabels...)
	gcCycles   = desc("target", "gc_cycles_total", "GC cycles the target completed since leakscope attached.", targetLabels...)
	allocs     = desc("target", "sampled_allocs_total", "Sampled allocations seen since attach.", targetLabels...)
	frees      = desc("target", "sampled_frees_total", "Sampled objects seen freed since attach.", targetLabels...)
	rate       = desc("target", "memprofilerate_bytes", "The target's runtime.MemProfileRate (average bytes between samples).", targetLabels...)
	rateByUs   = desc("target", "memprofilerate_set_by_leakscope", "1 when leakscope changed the target's MemProfileRate.", targetLabels...)
	overhead   = desc("target", "estimated_overhead_ratio", "Estimated CPU that watching costs the target over the last interval, as a fraction of one core.", targetLabels...)
	ownCPU     = desc("target", "leakscope_cpu_ratio", "leakscope's own CPU spent on the target over the last interval (its share of the process's), as a fraction of one core; part of the estimated overhead.", targetLabels...)
	budgetMax  = desc("target", "max_overhead_ratio", "The overhead budget, as a fraction of one core (0: no budget).", targetLabels...)
	budgetOn   = desc("target", "overhead_budget_active", "1 while the overhead budget holds the target's MemProfileRate above the configured rate.", targetLabels...)
	confRate   = desc("target", "configured_memprofilerate_bytes", "The MemProfileRate the rate policy asked for; the budget never sets a lower one.", targetLabels...)
	detectMin  = desc("target", "detection_limit_bytes_per_second", "Smallest leak that can be named within the given time at the rate the detector's counts are at (the highest MemProfileRate whose samples are still live).", append(targetLabels, "within")...)
	lost       = desc("target", "lost_total", "Data lost, by reason (full maps, failed reads...).", append(targetLabels, "reason")...)
	preAttach  = desc("target", "pre_attach_frees_total", "Frees of objects sampled before leakscope attached (expected, not a loss).", targetLabels...)
	gcPerMin   = desc("target", "gc_cycles_per_minute", "GC cycles per minute since attach: how long a verdict takes.", targetLabels...)
	events     = desc("target", "probe_events_total", "Probe hits, by kind.", append(targetLabels, "event")...)
	suspects   = desc("target", "suspects", "Leak suspects reported for the target, by verdict.", append(targetLabels, "verdict")...)
	suspLive   = desc("suspect", "live_bytes", "Estimated live heap bytes allocated at the leak site (scaled like runtime/pprof).", append(targetLabels, "function")...)
	suspOld    = desc("suspect", "old_bytes", "Estimated live bytes at the leak site that survived several GC cycles.", append(targetLabels, "function")...)
	suspGrowth = desc("suspect", "growth_bytes_per_second", "Growth of the leak site's live bytes (Theil-Sen slope; growth_bytes_per_second in suspects.json).", append(targetLabels, "function")...)
	suspScore  = desc("suspect", "score", "Confidence in [0,1] that the leak site leaks.", append(targetLabels, "function")...)
	suspLeak   = desc("suspect", "leak", "1 when the leak site's verdict is leak, 0 when it is watch.", append(targetLabels, "function")...)
	suspRank   = desc("suspect", "rank", "Position of the leak site in the target's ranking (1 first): every leak before every watch, then by growth, then by live bytes.", append(targetLabels, "function")...)

	// The cross-check with the target's own /debug/pprof/heap.
	pprofScore    = desc("pprof", "agreement_score", "Share of the target's compared suspects that its own heap profile agrees with.", targetLabels...)
	pprofFetches  = desc("pprof", "fetches_total", "Fetches of the target's /debug/pprof/heap.", targetLabels...)
	pprofFailures = desc("pprof", "fetch_failures_total", "Failed fetches of the target's /debug/pprof/heap.", targetLabels...)
	pprofScaling  = desc("pprof", "scaling_affected_by_leakscope", "1 when leakscope's MemProfileRate change affects the target's own heap profile.", targetLabels...)
	suspPprof     = desc("suspect", "pprof_agrees", "1 when the target's own heap profile agrees with the leak site's growth, 0 when it disagrees (absent: not compared).", append(targetLabels, "function")...)
	suspPprofUse  = desc("suspect", "pprof_inuse_bytes", "In-use bytes at the leak site in the target's own heap profile.", append(targetLabels, "function")...)
)

// Source returns the latest results, or nil before the first interval.
type Source func() *report.Update

// Collector is a prometheus.Collector over the latest results.
type Collector struct {
	latest  Source
	version string
}

// NewCollector returns a Collector reading from latest.
func NewCollector(latest Source) *Collector {
	c := &Collector{latest: latest, version: "(devel)"}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		c.version = bi.Main.Version
	}
	return c
}

// Describe sends every descriptor the Collector may use.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		buildInfo, targets, updated, snapTime, probeSets, skipped, mapBytes, progRuns, progTime,
		liveBytes, gcCycles, allocs, frees, rate, rateByUs, overhead, ownCPU, budgetMax, budgetOn, confRate, detectMin, lost, preAttach, gcPerMin, events, suspects,
		suspLive, suspOld, suspGrowth, suspScore, suspLeak, suspRank,
		pprofScore, pprofFetches, pprofFailures, pprofScaling, suspPprof, suspPprofUse,
	} {
		ch <- d
	}
	for _, d := range goroutineDescs {
		ch <- d
	}
	for _, d := range retentionDescs {
		ch <- d
	}
}

// Collect builds the metrics of the latest results.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(buildInfo, prometheus.GaugeValue, 1, c.version, goVersion())
	u := c.latest()
	if u == nil || u.Doc == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(updated, prometheus.GaugeValue, float64(u.Doc.GeneratedAt.UnixNano())/1e9)
	ch <- prometheus.MustNewConstMetric(snapTime, prometheus.GaugeValue, u.SnapshotDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(probeSets, prometheus.GaugeValue, float64(u.Doc.ProbeSets))
	ch <- prometheus.MustNewConstMetric(skipped, prometheus.GaugeValue, float64(len(u.Doc.Skipped)))
	for _, name := range slices.Sorted(maps.Keys(u.MapBytes)) {
		ch <- prometheus.MustNewConstMetric(mapBytes, prometheus.GaugeValue, float64(u.MapBytes[name]), name)
	}
	for _, name := range slices.Sorted(maps.Keys(u.Programs)) {
		s := u.Programs[name]
		ch <- prometheus.MustNewConstMetric(progRuns, prometheus.CounterValue, float64(s.Runs), name)
		ch <- prometheus.MustNewConstMetric(progTime, prometheus.CounterValue, s.RunTime.Seconds(), name)
	}

	byStatus := map[string]int{report.StatusStarting: 0, report.StatusWatching: 0, report.StatusExited: 0, report.StatusReplaced: 0, report.StatusError: 0}
	for _, t := range u.Doc.Targets {
		byStatus[t.Status]++
		// An exited (or replaced) target's series end with it: Prometheus
		// marks them stale, and no series lives on for a pid that is gone.
		if t.Status == report.StatusExited || t.Status == report.StatusReplaced {
			continue
		}
		collectTarget(ch, &t)
	}
	for _, s := range slices.Sorted(maps.Keys(byStatus)) {
		ch <- prometheus.MustNewConstMetric(targets, prometheus.GaugeValue, float64(byStatus[s]), s)
	}
}

func collectTarget(ch chan<- prometheus.Metric, t *report.Target) {
	l := []string{strconv.FormatUint(uint64(t.PID), 10), strconv.FormatUint(uint64(t.NSPID), 10), t.Exe, t.ContainerID, t.ContainerName, t.Pod, t.Namespace}
	gauge := func(d *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(l, extra...)...)
	}
	counter := func(d *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, append(l, extra...)...)
	}
	gauge(liveBytes, float64(t.SampledLiveBytes))
	counter(gcCycles, float64(t.GCCycles))
	counter(allocs, float64(t.SampledAllocs))
	counter(frees, float64(t.SampledFrees))
	gauge(rate, float64(t.MemProfileRate))
	gauge(rateByUs, boolValue(t.MemProfileRateSetByLeakscope))
	if c := t.Cost; c != nil {
		if c.EstimatedOverhead != nil {
			gauge(overhead, *c.EstimatedOverhead)
		}
		if c.OwnCPU != nil {
			gauge(ownCPU, *c.OwnCPU)
		}
		gauge(budgetMax, c.MaxOverhead)
		gauge(budgetOn, boolValue(c.BudgetActive))
		gauge(confRate, float64(c.ConfiguredRate))
		for within, v := range map[string]*float64{"1m": c.DetectionLimit1m, "5m": c.DetectionLimit5m} {
			if v != nil {
				gauge(detectMin, *v, within)
			}
		}
	}
	for _, r := range slices.Sorted(maps.Keys(t.Lost)) {
		counter(lost, float64(t.Lost[r]), r)
	}
	counter(preAttach, float64(t.PreAttachFrees))
	if t.GC != nil {
		gauge(gcPerMin, t.GC.CyclesPerMinute)
	}
	for _, e := range slices.Sorted(maps.Keys(t.Events)) {
		counter(events, float64(t.Events[e]), e)
	}
	verdicts := map[string]int{string(analysis.VerdictLeak): 0, string(analysis.VerdictWatch): 0}
	for _, s := range t.Suspects {
		verdicts[string(s.Verdict)]++
	}
	for _, v := range slices.Sorted(maps.Keys(verdicts)) {
		gauge(suspects, float64(verdicts[v]), v)
	}
	for i, s := range bySite(t.Suspects) {
		gauge(suspRank, float64(i+1), s.Function)
		gauge(suspLive, float64(s.LiveBytes), s.Function)
		gauge(suspOld, float64(s.OldBytes), s.Function)
		gauge(suspGrowth, s.GrowthBytesPerSecond, s.Function)
		gauge(suspScore, s.Score, s.Function)
		gauge(suspLeak, boolValue(s.Verdict == analysis.VerdictLeak), s.Function)
		if c := s.Pprof; c != nil && c.Status != analysis.PprofUnavailable {
			gauge(suspPprof, boolValue(c.Status == analysis.PprofAgrees), s.Function)
			gauge(suspPprofUse, float64(c.InuseBytes), s.Function)
		}
	}
	collectGoroutines(t.Goroutines, gauge)
	collectRetention(t.Retention, t.Suspects, gauge, counter)
	if c := t.Pprof; c != nil && c.Status != crosscheck.StatusOff {
		if c.AgreementScore != nil {
			gauge(pprofScore, *c.AgreementScore)
		}
		counter(pprofFetches, float64(c.Fetches))
		counter(pprofFailures, float64(c.Failures))
		gauge(pprofScaling, boolValue(c.ScalingAffectedByLeakscope))
	}
}

// bySite merges suspects that share a leak-site function (different
// callers of one function are separate suspects, but one series): bytes
// and growth add up, score and verdict are the strongest; the result is
// ranked as suspects are (analysis.CompareSuspects), so its order is the
// JSON's, function by function.
func bySite(in []analysis.Suspect) []analysis.Suspect {
	out := mergeBySite(in)
	slices.SortStableFunc(out, analysis.CompareSuspects)
	return out
}

func mergeBySite(in []analysis.Suspect) []analysis.Suspect {
	var out []analysis.Suspect
	index := map[string]int{}
	for _, s := range in {
		i, ok := index[s.Function]
		if !ok {
			index[s.Function] = len(out)
			out = append(out, s)
			continue
		}
		m := &out[i]
		m.LiveBytes += s.LiveBytes
		m.OldBytes += s.OldBytes
		m.GrowthBytesPerSecond += s.GrowthBytesPerSecond
		m.Score = max(m.Score, s.Score)
		if s.Verdict == analysis.VerdictLeak {
			m.Verdict = analysis.VerdictLeak
		}
		// The runtime's figures are per function already: keep one, but a
		// disagreement anywhere at the site is one for the site.
		if m.Pprof == nil || (s.Pprof != nil && s.Pprof.Status == analysis.PprofDisagrees) {
			m.Pprof = s.Pprof
		}
	}
	return out
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown"
}
