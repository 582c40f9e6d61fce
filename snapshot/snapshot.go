// Package snapshot holds what one read of the kernel maps yields for a
// target (Snapshot: per-stack sampled counts, losses, events), the data
// that analysis, report and the exporters consume. It is a leaf: it
// imports neither the BPF loader nor anything else of leakscope, so the
// statistics do not depend on the kernel side.
package snapshot

import "time"

// AgeBuckets is the number of log2 buckets in the freed-age histogram:
// bucket 0 holds objects freed in the GC cycle they were allocated in,
// bucket i (i >= 1) those that survived [2^(i-1), 2^i) cycles, and the
// last bucket everything older.
const AgeBuckets = 16

// Snapshot is one read of the kernel maps for one target process.
type Snapshot struct {
	PID  uint32
	Time time.Time
	// GCCycles counts the GC cycles completed since leakscope attached.
	GCCycles uint64
	// MemProfileRate is the sampling rate in force in the target (bytes).
	MemProfileRate int64
	// RateRef is 0 while the target's MemProfileRate has not changed
	// since attach. After a change it is the highest of the current rate
	// and the rates of the samples still live, and the snapshot is
	// rate-weighted: StackStats.LiveAges
	// counts each sample taken at rate r with probability r/RateRef (a
	// fixed choice per object), so that the counts the detector tests are
	// one Poisson sample at RateRef throughout, and the Est fields hold
	// every sample scaled with the rate in force when it was taken.
	RateRef int64
	// Stacks holds one entry per distinct allocation stack seen.
	Stacks map[int32]*StackStats
	// Losses counts data lost, by reason (the Loss* names).
	Losses map[string]uint64
	// Events counts probe hits by kind (the Event* names).
	Events map[string]uint64
	// AllocSites holds exact allocation counts per stack, only when the
	// target is watched with the all-allocs probe.
	AllocSites map[int32]*AllocSite
}

// StackStats aggregates the sampled objects allocated from one stack.
type StackStats struct {
	// StackID numbers the target's distinct stacks in order of first
	// sight; negative when the stack could not be read from the target
	// (the objects are still counted, under an unknown stack).
	StackID int32
	// PCs is the stack the runtime recorded for its heap profile,
	// innermost first, as runtime.Callers returns it but with the first
	// entry pointing at the call instruction (return address minus one):
	// the form symbolize.Process.Symbolize takes. Addresses are the
	// target's (not adjusted for PIE load bias).
	PCs []uint64

	// Cumulative sampled counts since attach.
	Allocs, AllocBytes uint64
	Frees, FreeBytes   uint64
	// FreedAge is the histogram of GC cycles survived by freed objects.
	FreedAge [AgeBuckets]uint64

	// Currently live sampled objects.
	LiveObjects, LiveBytes uint64
	// LiveAges[i] counts live objects that have survived i GC cycles
	// (index capped at len-1 = 63).
	LiveAges []uint64
	// OldestAllocNS is the kernel monotonic time of the oldest live object.
	OldestAllocNS uint64
	// Oldest holds up to MaxOldest of the oldest live sampled objects,
	// oldest first: where to start looking for what retains them.
	Oldest []LiveSample

	// Estimates of the true heap, each sample scaled with SampleWeight at
	// the rate in force when it was taken; set only when Snapshot.RateRef
	// is (otherwise the one rate scales every sample alike).
	LiveEstObjects, LiveEstBytes   float64
	AllocEstObjects, AllocEstBytes float64
}

// MaxOldest bounds StackStats.Oldest.
const MaxOldest = 4

// LiveSample is one live sampled object.
type LiveSample struct {
	Addr    uint64 // the target's address of the object
	AllocNS uint64 // kernel monotonic time of its allocation
}

// NoteSample keeps o among st.Oldest if it is one of the MaxOldest oldest.
func (st *StackStats) NoteSample(o LiveSample) {
	i := len(st.Oldest)
	for i > 0 && st.Oldest[i-1].AllocNS > o.AllocNS {
		i--
	}
	if i >= MaxOldest {
		return
	}
	st.Oldest = append(st.Oldest, LiveSample{})
	copy(st.Oldest[i+1:], st.Oldest[i:])
	st.Oldest[i] = o
	if len(st.Oldest) > MaxOldest {
		st.Oldest = st.Oldest[:MaxOldest]
	}
}

// AllocSite is the exact allocation count of one stack, from the
// all-allocs mode (every call of runtime.mallocgc), since attach.
type AllocSite struct {
	StackID int32    // negative when the stack walk failed
	PCs     []uint64 // innermost (runtime.mallocgc) first, like StackStats.PCs
	Allocs  uint64   // heap allocations (zero-size ones excluded)
	Bytes   uint64   // bytes requested (before size-class rounding)
}

// ProgramStat is what the kernel counted for one BPF program while BPF
// statistics were on.
type ProgramStat struct {
	Runs    uint64
	RunTime time.Duration
}
