package tracer

// LossReasons names the kernel's loss counters, in the order of enum
// loss_reason in bpf/leakscope.c.
var LossReasons = [...]string{
	"live_map_full",      // sample not tracked: live-object map full
	"stats_map_full",     // sample not tracked: per-stack map full
	"stack_walk_failed",  // all-allocs mode: allocation counted under an unknown stack
	"stack_collision",    // all-allocs mode: the same, stack-map buckets taken (after retries)
	"free_unmatched",     // free of an address never seen (most: sampled before attach)
	"address_reused",     // address allocated again before its free arrived
	"target_read_failed", // reading target memory failed
	"alloc_counts_full",  // all-allocs mode: allocation not counted, per-stack count map full
}

// EventNames names the kernel's event counters, in the order of enum event.
var EventNames = [...]string{
	"samples",       // runtime.setprofilebucket hits: samples the runtime recorded
	"special_frees", // runtime.freeSpecial hits, any kind of special
	"sample_frees",  // frees matched to a tracked sample
	"gc_cycles",     // runtime.gcMarkTermination hits
	"mallocs",       // all-allocs mode: runtime.mallocgc hits (heap allocations)
}
