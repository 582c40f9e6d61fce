package tracer

// LossReasons names the kernel's loss counters, in the order of enum
// loss_reason in bpf/leakscope.c.
var LossReasons = [...]string{
	"live_map_full",      // sample not tracked: live-object map full
	"stats_map_full",     // sample not tracked: per-stack map full
	"stack_walk_failed",  // sample kept under an unknown stack
	"stack_collision",    // sample kept under an unknown stack: stack-map buckets taken (after retries)
	"free_unmatched",     // free of an address never seen (most: sampled before attach)
	"address_reused",     // address allocated again before its free arrived
	"pending_map_full",   // sample dropped: too many threads with a sample in flight
	"commit_unmatched",   // the runtime recorded a sample we never saw taken
	"target_read_failed", // reading target memory failed
	"alloc_counts_full",  // all-allocs mode: allocation not counted, per-stack count map full
}

// EventNames names the kernel's event counters, in the order of enum event.
var EventNames = [...]string{
	"alloc_probes",  // runtime.profilealloc hits
	"samples",       // samples committed (tracked as live objects)
	"uncommitted",   // samples the runtime itself did not record
	"special_frees", // runtime.freeSpecial hits, any kind of special
	"sample_frees",  // frees matched to a tracked sample
	"gc_cycles",     // runtime.gcMarkTermination hits
	"mallocs",       // all-allocs mode: runtime.mallocgc hits (heap allocations)
}
