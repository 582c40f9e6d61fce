package report

import (
	"maps"
	"slices"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/snapshot"
)

// Document is the content of suspects.json.
type Document struct {
	// GeneratedAt is when the document was written (RFC 3339; fractional
	// seconds when the time has them).
	GeneratedAt time.Time `json:"generated_at"`
	Targets     []Target  `json:"targets"`
	// ProbeSets counts the executables with probes attached: one per
	// distinct executable, however many watched processes run it.
	ProbeSets int `json:"probe_sets"`
	// Skipped lists selected processes that could not be watched, and why.
	Skipped []Skipped `json:"skipped"`
}

// Skipped is a selected process leakscope could not watch.
type Skipped struct {
	PID         uint32    `json:"pid"`
	Exe         string    `json:"exe"`
	ContainerID string    `json:"container_id,omitempty"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
}

// Target statuses.
const (
	StatusStarting = "starting" // attaching, no snapshot yet
	StatusWatching = "watching"
	StatusExited   = "exited" // the process ended; last findings kept
	// StatusReplaced: the process executed another program, or its pid
	// was reused; findings up to then kept, nothing of the new program.
	StatusReplaced = "replaced"
	StatusError    = "error" // watching failed; see Target.Error
)

// Target is one watched process and its suspects.
type Target struct {
	PID uint32 `json:"pid"` // as the host sees it; the same as HostPID
	// HostPID is the process ID in leakscope's (the host's) PID namespace,
	// NSPID the one the process sees itself under (its innermost PID
	// namespace; equal to HostPID outside containers).
	HostPID uint32 `json:"host_pid"`
	NSPID   uint32 `json:"ns_pid"`
	// ContainerID is the container the process runs in (absent if none
	// recognised), from its cgroup; Cgroup is that cgroup's path.
	ContainerID string `json:"container_id,omitempty"`
	// The container's name and, in Kubernetes, its pod, the pod's
	// namespace and UID, as the container runtime records them (absent
	// when unknown; see containermeta).
	ContainerName  string `json:"container_name,omitempty"`
	Pod            string `json:"pod,omitempty"`
	Namespace      string `json:"namespace,omitempty"`
	PodUID         string `json:"pod_uid,omitempty"`
	Cgroup         string `json:"cgroup"`
	Exe            string `json:"exe"`
	GoVersion      string `json:"go_version"`
	MemProfileRate int64  `json:"memprofilerate"`
	// MemProfileRateSetByLeakscope is true when leakscope changed the
	// target's runtime.MemProfileRate (rather than using its own).
	MemProfileRateSetByLeakscope bool `json:"memprofilerate_set_by_leakscope"`
	// GCCycles counts GC cycles completed since leakscope attached.
	GCCycles uint64 `json:"gc_cycles"`
	// Sampled allocations and frees since attach, over all stacks.
	SampledAllocs uint64 `json:"sampled_allocs"`
	SampledFrees  uint64 `json:"sampled_frees"`
	// SampledLiveBytes is the size of the sampled objects still alive
	// (unscaled: multiply by about MemProfileRate/size for the heap).
	SampledLiveBytes uint64 `json:"sampled_live_bytes"`
	// Lost counts data lost, by reason; Events probe hits, by kind.
	// Frees of objects sampled before attach are not losses: they are in
	// PreAttachFrees, not in Lost.
	Lost map[string]uint64 `json:"lost"`
	// PreAttachFrees counts frees of sampled objects leakscope never saw
	// allocated: objects sampled before it attached, which every watch of
	// a running program sees some of (the kernel's free_unmatched
	// counter; with live_map_full, also frees of samples it could not
	// track).
	PreAttachFrees uint64 `json:"pre_attach_frees"`
	// GC is the target's GC regime: how often it collects, and so how
	// long a verdict takes.
	GC     *GCRegime         `json:"gc_regime,omitempty"`
	Events map[string]uint64 `json:"events"`
	Status string            `json:"status"`
	Error  string            `json:"error,omitempty"`
	// Incomplete names the losses that can hide frees and rose within
	// the evidence window (analysis.FreeHidingLosses): while it is not
	// empty no suspect is judged leak. Raise the capacity flags.
	Incomplete []string `json:"incomplete,omitempty"`
	// Notes are warnings about the target, e.g. a MemProfileRate left
	// changed by an earlier leakscope that did not exit cleanly.
	Notes []string `json:"notes,omitempty"`
	// Suspects are ranked every leak before every watch, then by growth,
	// then by live bytes (analysis.CompareSuspects).
	Suspects []analysis.Suspect `json:"suspects"`
	// Pprof is the cross-check against the target's own heap profile;
	// each suspect carries its own part.
	Pprof *crosscheck.TargetCheck `json:"pprof,omitempty"`
	// ExactAllocs are the sites allocating the most bytes, counted exactly
	// (every allocation): only with --mode=all-allocs.
	ExactAllocs []analysis.AllocSite `json:"exact_allocs,omitempty"`
	// Cost is what watching costs the target and what its sampling rate
	// can detect (absent until the first snapshot).
	Cost *Cost `json:"cost,omitempty"`
	// Profile is the latest pprof profile written for this target.
	Profile string `json:"profile,omitempty"`
	// Goroutines is the goroutine-leak part (absent when not read).
	Goroutines *Goroutines `json:"goroutines,omitempty"`
	// Retention is the state and cost of the target's retention-path
	// searches (absent when leakscope does not search).
	Retention *RetentionSearches `json:"retention,omitempty"`
	// UpdatedAt is the time of the snapshot the figures come from.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// PreAttachFreesReason is the tracer's loss reason that counts frees of
// objects sampled before attach (Target.PreAttachFrees).
const PreAttachFreesReason = "free_unmatched"

// Cost is a target's overhead budget and the sensitivity it leaves.
type Cost struct {
	// EffectiveRate is the MemProfileRate in force; ConfiguredRate the
	// one the rate policy asked for, which the budget never goes under.
	EffectiveRate  int64 `json:"effective_rate"`
	ConfiguredRate int64 `json:"configured_rate"`
	// EstimatedOverhead is watching's cost over the last interval, as a
	// fraction of one core: sampled allocations per second times the
	// cost per sample, plus OwnCPU (absent until two snapshots).
	EstimatedOverhead *float64 `json:"estimated_overhead,omitempty"`
	// OwnCPU is leakscope's own CPU over the last interval spent on this
	// target (the process's CPU time shared out over the targets), as a
	// fraction of one core: on a host whose cores are all busy, CPU the
	// target does not get.
	OwnCPU *float64 `json:"leakscope_cpu,omitempty"`
	// MaxOverhead is the budget, a fraction of one core (0: off).
	MaxOverhead float64 `json:"max_overhead"`
	// BudgetActive is true while the budget holds the rate above the
	// configured one.
	BudgetActive bool `json:"budget_active"`
	// DetectionLimit1m and DetectionLimit5m are the smallest leaks, in
	// bytes per second, that can be named within one and five minutes at
	// the rate the detector's counts are at (EffectiveRate, or a higher
	// one whose samples are still live: analysis.DetectionLimit); absent
	// when none can.
	DetectionLimit1m *float64 `json:"detection_limit_1m_bytes_per_second,omitempty"`
	DetectionLimit5m *float64 `json:"detection_limit_5m_bytes_per_second,omitempty"`
	// Source is where the cost per sample comes from.
	Source string `json:"cost_source,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Observe copies the target-wide figures of snapshot s into t.
func (t *Target) Observe(s *snapshot.Snapshot) {
	t.PID = s.PID
	t.MemProfileRate = s.MemProfileRate
	t.GCCycles = s.GCCycles
	t.UpdatedAt = s.Time
	t.SampledAllocs, t.SampledFrees, t.SampledLiveBytes = 0, 0, 0
	for _, st := range s.Stacks {
		if st != nil {
			t.SampledAllocs += st.Allocs
			t.SampledFrees += st.Frees
			t.SampledLiveBytes += st.LiveBytes
		}
	}
	t.Lost = maps.Clone(s.Losses)
	t.PreAttachFrees = t.Lost[PreAttachFreesReason]
	delete(t.Lost, PreAttachFreesReason)
	t.Events = maps.Clone(s.Events)
}

// normalized returns a copy of d whose lists and maps are empty rather
// than nil, so readers get [] and {} instead of null.
func (d *Document) normalized() *Document {
	out := &Document{GeneratedAt: d.GeneratedAt, Targets: make([]Target, len(d.Targets)), ProbeSets: d.ProbeSets, Skipped: d.Skipped}
	if out.Skipped == nil {
		out.Skipped = []Skipped{}
	}
	for i, t := range d.Targets {
		if t.Lost == nil {
			t.Lost = map[string]uint64{}
		}
		if t.Events == nil {
			t.Events = map[string]uint64{}
		}
		t.Suspects = slices.Clone(t.Suspects) // do not touch the caller's
		if t.Suspects == nil {
			t.Suspects = []analysis.Suspect{}
		}
		for j := range t.Suspects {
			if t.Suspects[j].Stack == nil {
				t.Suspects[j].Stack = []string{}
			}
			if t.Suspects[j].StackIDs == nil {
				t.Suspects[j].StackIDs = []int32{}
			}
		}
		out.Targets[i] = t
	}
	return out
}
