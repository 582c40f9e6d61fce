package snapshot

// Loss reasons: the keys of Snapshot.Losses. The kernel-side ones are
// counted by the BPF programs (enum loss_reason in bpf/leakscope.c; the
// tracer maps each enum value to its name here, and a test fails if one
// is left unnamed).
const (
	LossLiveMapFull      = "live_map_full"      // sample not tracked: live-object map full
	LossStatsMapFull     = "stats_map_full"     // sample not tracked: per-stack map full
	LossStackWalkFailed  = "stack_walk_failed"  // all-allocs mode: allocation counted under an unknown stack
	LossStackCollision   = "stack_collision"    // all-allocs mode: the same, stack-map buckets taken (after retries)
	LossFreeUnmatched    = "free_unmatched"     // free of an address never seen (most: sampled before attach)
	LossAddressReused    = "address_reused"     // address allocated again before its free arrived
	LossTargetReadFailed = "target_read_failed" // reading target memory failed
	LossAllocCountsFull  = "alloc_counts_full"  // all-allocs mode: allocation not counted, per-stack count map full

	// Counted in userspace: a stack the tracer could not read from the
	// target (its objects still show, under no stack).
	LossStackReadFailed = "stack_read_failed"
)

// Events: the keys of Snapshot.Events, probe hits by kind (enum event in
// bpf/leakscope.c).
const (
	EventSamples      = "samples"       // runtime.setprofilebucket hits: samples the runtime recorded
	EventSpecialFrees = "special_frees" // runtime.freeSpecial hits, any kind of special
	EventSampleFrees  = "sample_frees"  // frees matched to a tracked sample
	EventGCCycles     = "gc_cycles"     // runtime.gcMarkTermination hits
	EventMallocs      = "mallocs"       // all-allocs mode: runtime.mallocgc hits (heap allocations)
)
