package analysis

import (
	"time"

	"github.com/leakscope/leakscope/symbolize"
)

// Verdict is the detector's conclusion about one suspect.
type Verdict string

const (
	// VerdictLeak: objects far older than this stack's objects usually
	// die have accumulated significantly, steadily and up to now, over at
	// least Config.MinWindow and Config.MinWindowGC.
	VerdictLeak Verdict = "leak"
	// VerdictWatch: old bytes or overdue objects are growing but the
	// evidence is short of a leak (window too short, growth levelled off
	// or came in one step, what grew is young enough to be freed as
	// usual...).
	VerdictWatch Verdict = "watch"
)

// Suspect is one leak site whose live sampled objects show growth. The
// site is the first frame outside the runtime and the standard library
// (the user's code; the first frame outside the runtime when the whole
// stack is the standard library's). The detector judges each
// source-level stack from the first frame outside the runtime outward
// (an object's lifetime pattern is its line's: a map's old tables die,
// the entries put in it may not); a Suspect merges those with the same
// function at the site and the same frames outward: what the site
// allocates itself and what a library function (hex.EncodeToString, a
// strings.Builder, time.AfterFunc...) allocates for it. The strongest of
// them (CompareSuspects) gives the verdict, evidence, score, line and
// stack; sizes and growth add up. The JSON names are a contract with
// readers of suspects.json: add fields, never rename.
type Suspect struct {
	Function string `json:"function"` // leak site
	File     string `json:"file"`     // of the site's line in Stack
	Line     int    `json:"line"`
	// Stack is the strongest stack's, "pkg.fn (file.go:12)", from the
	// first frame outside the runtime outward: the leak site first
	// unless a library function allocated for it.
	Stack []string `json:"stack"`
	// AllocatedIn names the standard-library functions that allocated
	// for the site (first frame outside the runtime), if any.
	AllocatedIn []string `json:"allocated_in,omitempty"`

	// Estimates of the true heap (sampled values scaled as runtime/pprof
	// scales them, at the current MemProfileRate).
	LiveBytes    int64 `json:"live_bytes"`
	LiveObjects  int64 `json:"live_objects"`
	OldBytes     int64 `json:"old_bytes"` // the part that survived MinOldAgeGC cycles
	AllocBytes   int64 `json:"alloc_bytes"`
	AllocObjects int64 `json:"alloc_objects"`

	// GrowthBytesPerSecond is, summed over the site's stacks that show
	// growth, the Theil-Sen slope of old live bytes over the evidence
	// window once it holds minWatchPoints collections (the larger of that
	// and the slope of all live bytes per snapshot when no survivor was
	// freed); until then the slope of all live bytes per snapshot.
	GrowthBytesPerSecond float64 `json:"growth_bytes_per_second"`
	// MedianAgeGCCycles is the median number of GC cycles survived by the
	// live sampled objects.
	MedianAgeGCCycles float64 `json:"median_age_gc_cycles"`

	Score float64 `json:"score"` // in [0,1]; see Evidence
	// Verdict is leak or watch; stacks with no evidence of growth are not
	// suspects at all.
	Verdict Verdict `json:"verdict"`
	// Reason says, for a watch, why it is not (yet) a leak, e.g. "only
	// 2 GC cycles observed (a leak needs 3 ...)"; for a leak, what
	// evidence made it one.
	Reason string `json:"reason"`
	// FirstLeakAt is the snapshot time at which the verdict first became
	// leak; zero (and omitted) if it never did.
	FirstLeakAt time.Time `json:"first_leak_at,omitzero"`

	Evidence Evidence `json:"evidence"`
	StackIDs []int32  `json:"stack_ids"`

	// Pprof is the cross-check against the target's own heap profile
	// (package crosscheck); nil when none was attempted.
	Pprof *PprofCheck `json:"pprof,omitempty"`

	// GoroutineCreatedBy, on a suspect whose site is goroutine creation
	// (runtime.malg: the g descriptors, allocated on the system stack, so
	// the stack ends in the runtime), names the `go` statements,
	// "pkg.fn (file.go:12)", of the goroutine groups that grow, the
	// likeliest first: what the descriptors belong to. Set only while the
	// target's goroutines are read; the verdict is the heap detector's.
	GoroutineCreatedBy []string `json:"goroutine_created_by,omitempty"`

	// RetainedBy, on a leak suspect, is what keeps its oldest sampled
	// objects alive (package retention, through monitor); nil when not
	// searched.
	RetainedBy *Retention `json:"retained_by,omitempty"`
}

// Statuses of PprofCheck.
const (
	PprofAgrees      = "agrees"
	PprofDisagrees   = "disagrees"
	PprofUnavailable = "unavailable"
)

// PprofCheck compares one suspect with the target's own heap profile
// (/debug/pprof/heap). It is data only; package crosscheck fills it.
type PprofCheck struct {
	// Status is agrees, disagrees or unavailable; Reason says why.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// InuseBytes and InuseObjects are the runtime's in-use figures for
	// this site in its latest profile (everything since the process
	// started, scaled by the runtime).
	InuseBytes   int64 `json:"inuse_bytes"`
	InuseObjects int64 `json:"inuse_objects"`
	// What is compared: the growth, between the baseline profile and the
	// latest one (WindowSeconds apart), of the runtime's in-use bytes at
	// this site and of leakscope's old bytes at the same moments.
	RuntimeGrowthBytes   int64   `json:"runtime_growth_bytes"`
	LeakscopeGrowthBytes int64   `json:"leakscope_growth_bytes"`
	WindowSeconds        float64 `json:"window_seconds"`
}

// Evidence is what the verdict and score were computed from.
//
// Score = (1 - AccumulationPValue) * Persistence * Coverage. Each factor
// is in [0,1] and is a separate reason to believe the stack leaks:
// objects far older than this stack's objects ever die accumulate
// (confidence of the accumulation test), steadily and still now
// (persistence), over a window holding all the evidence a leak verdict
// requires (coverage). A score near 1 means every reason holds; any one
// that fails pulls it toward 0. A leak verdict implies a score of at
// least (1-Alpha)*0.5 ~ 0.48 (0.24 for a leak kept by hysteresis); under
// the survival rule the factors are 1 - SurvivalPValue, the live series'
// persistence and the coverage of its 50 s and 3 collections. It is a
// confidence within a verdict, not a size or a rank: suspects are ranked
// leak first, then by growth, then by size (CompareSuspects).
//
// Only objects sampled after attach are seen: at attach every count is
// zero, so anything that is still filling then (a cache warming up, a
// working set whose objects outlive the time watched so far) looks like
// growth until it levels off. A leak is told from it by still growing in
// the most recent part of the window; a cache that fills for longer than
// about 30 s after attach, or objects that live for much longer than the
// time watched, are indistinguishable from a leak until then, and may be
// named one. A start-up table built before attach is invisible.
type Evidence struct {
	// Rule is which evidence made a leak: "overdue" (objects older than
	// the site's objects usually die accumulate) or "survival" (objects
	// that survived every collection since allocation, none freed, grow
	// steadily over wall-clock time: for processes that collect rarely).
	// Empty for a watch.
	Rule string `json:"rule,omitempty"`
	// Reason and GrowthBytesPerSecond are the Suspect's.
	Reason               string  `json:"-"`
	GrowthBytesPerSecond float64 `json:"-"`
	// The survival evidence, over the window: SurvivorObjects sampled
	// objects alive now that survived at least one collection,
	// SurvivalExposure the collections they survived in all (each one
	// could have freed them), SurvivorDeaths sampled objects freed after
	// surviving one, and SurvivalPValue the upper tail of
	// Binomial(exposure+deaths, 1/2) at the exposure.
	SurvivorObjects  float64 `json:"survivor_objects"`
	SurvivorDeaths   float64 `json:"survivor_deaths"`
	SurvivalExposure float64 `json:"survival_exposure"`
	SurvivalPValue   float64 `json:"survival_p_value"`
	// The live series (every sampled live object, any age, one point per
	// snapshot): its net growth in sampled objects, the Theil-Sen slope
	// of its scaled bytes, and how long ago it last rose.
	LiveGrowthObjects       float64 `json:"live_growth_objects"`
	LiveSlopeBytesPerSecond float64 `json:"live_slope_bytes_per_second"`
	SecondsSinceGrowth      float64 `json:"seconds_since_growth"`
	// Theil-Sen slopes of old live bytes, over the window and over its
	// most recent half.
	SlopeBytesPerSecond       float64 `json:"slope_bytes_per_second"`
	RecentSlopeBytesPerSecond float64 `json:"recent_slope_bytes_per_second"`
	// Mann-Kendall trend test of old live bytes (tie-corrected): the S
	// statistic, its normal score and the one-sided p-value for growth.
	// Enough for watch, not for leak.
	MannKendallS int64   `json:"mann_kendall_s"`
	MannKendallZ float64 `json:"mann_kendall_z"`
	PValue       float64 `json:"p_value"`
	// Points is the number of snapshots tested, at most one per GC cycle
	// (old objects only change when a collection runs). The window spans
	// WindowSeconds and WindowGCCycles, from the attach when SinceAttach
	// (then the attach, where every count was zero, is one more point of
	// the overdue series).
	Points         int     `json:"points"`
	WindowSeconds  float64 `json:"window_seconds"`
	WindowGCCycles uint64  `json:"window_gc_cycles"`
	SinceAttach    bool    `json:"since_attach"`
	// Coverage is how much of the span a leak verdict requires
	// (Config.MinWindow and Config.MinWindowGC, whichever is further)
	// the overdue series spans (since attach, it starts when the GC
	// count reached the overdue age).
	Coverage float64 `json:"coverage"`
	// Persistence is how plausibly overdue objects accumulated at one
	// rate throughout the window: the upper end of the one-sided 95%
	// interval of the slower part's rate over the faster part's (the
	// recent part, the last 40% of the window, against the rest), capped
	// at 1. Near 1 for steady growth (even noisy), near 0 for growth that
	// has levelled off or came in one step.
	Persistence float64 `json:"persistence"`
	// HeldAcrossRateChange: this is the evidence from before the sampling
	// rate moved, kept (verdict and figures) while the evidence gathered
	// since is weaker (Target.applyHold); Reason says since when.
	HeldAcrossRateChange bool `json:"held_across_rate_change,omitempty"`
	// UsualFreeAgeGC is the age (GC cycles) by which 95% of this stack's
	// objects that were freed old had died (nearer the oldest when fewer
	// than 20 were; MinOldAgeGC when none was; -1 when unbounded). Live
	// objects older than OverdueAgeGC are overdue: 1.5 times that (capped at
	// the saturated age slot, 63, if the usual age is below it), raised
	// until at most one of the window's frees was that old; -1 when no
	// age qualifies. Past 63 cycles, where live ages saturate, overdue
	// objects are bounded using allocation counts instead.
	UsualFreeAgeGC float64 `json:"usual_free_age_gc_cycles"`
	OverdueAgeGC   float64 `json:"overdue_age_gc_cycles"`
	// OverdueObjects is the number of sampled live objects overdue now.
	// Over the window, OverdueArrivals sampled objects became overdue and
	// OverdueDeaths were freed overdue; RecentOverdueGrowth is the net
	// growth of overdue objects in the recent part of the window.
	OverdueObjects      float64 `json:"overdue_objects"`
	OverdueArrivals     float64 `json:"overdue_arrivals"`
	OverdueDeaths       float64 `json:"overdue_deaths"`
	RecentOverdueGrowth float64 `json:"recent_overdue_growth"`
	// AccumulationPValue tests whether overdue objects appear faster than
	// they die: with no accumulation arrivals and deaths are Poisson
	// counts of equal mean, so given their sum the arrivals are
	// Binomial(sum, 1/2); this is its upper tail at the arrivals seen. A
	// leak (no deaths) of n overdue samples scores 2^-n.
	AccumulationPValue float64 `json:"accumulation_p_value"`
	// OverdueGrowthShare is the share of the window's growth in old live
	// objects made of overdue ones (ratio of Theil-Sen slopes). Reported:
	// a working set from the same site lowers it without excusing a leak.
	OverdueGrowthShare float64 `json:"overdue_growth_share"`
	// UnfreedShare is the share of all sampled allocations never freed.
	// Reported, not used: churn from the same stack drives it to zero
	// even when a slice of that stack's objects leaks. (So does any ratio
	// of flows; the detector compares stocks of old objects instead.)
	UnfreedShare float64 `json:"unfreed_share"`
	MinOldAgeGC  int     `json:"min_old_age_gc_cycles"`
	// FreesMayBeMissing: the evidence met the bars of a leak, but losses
	// that can hide frees (FreeHidingLosses) rose within the window, so
	// the verdict was lowered to watch.
	FreesMayBeMissing bool `json:"frees_may_be_missing,omitempty"`
}

// Stack is one group of stacks with its current values, for profiles.
type Stack struct {
	// Frames run from the leak site outward, innermost first; runtime
	// allocation frames above the leak site are trimmed. Inlined frames
	// are expanded: consecutive frames with Inlined set belong to the
	// same PC as the next frame without it.
	Frames   []symbolize.Frame
	StackIDs []int32

	// Scaled estimates, as in Suspect.
	LiveObjects, LiveBytes   int64
	AllocObjects, AllocBytes int64
	// AgeGCCycles is the sum over live objects of the GC cycles each has
	// survived (scaled like LiveObjects; ages saturate at 63), so
	// AgeGCCycles/LiveObjects is their mean age.
	AgeGCCycles int64
	// OldBytes is the part of LiveBytes that survived MinOldAgeGC
	// cycles, as in Suspect.
	OldBytes int64

	Verdict Verdict // "" when not a suspect
	// RetainedBy is the one-line summary of the first retention path of
	// the leak suspect this stack belongs to ("" when none was found);
	// monitor sets it, the pprof profile carries it as a label.
	RetainedBy string
	Score      float64
}
