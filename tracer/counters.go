package tracer

import (
	"github.com/leakscope/leakscope/bpf"
	"github.com/leakscope/leakscope/snapshot"
)

// The kernel's counters, named by their generated enum values: a reason
// or event added to bpf/leakscope.c grows the generated LOSS_MAX or
// EV_MAX and these arrays with it, and TestCounterNames fails until it
// has a name here. The lengths are those of the counters' own arrays
// (struct counts), so they cannot disagree with what is read.

// lossNames names enum loss_reason.
var lossNames = [len(bpf.LeakscopeCounts{}.Loss)]string{
	bpf.LeakscopeLossReasonLOSS_LIVE_FULL:       snapshot.LossLiveMapFull,
	bpf.LeakscopeLossReasonLOSS_STATS_FULL:      snapshot.LossStatsMapFull,
	bpf.LeakscopeLossReasonLOSS_STACK_FAILED:    snapshot.LossStackWalkFailed,
	bpf.LeakscopeLossReasonLOSS_STACK_COLLISION: snapshot.LossStackCollision,
	bpf.LeakscopeLossReasonLOSS_FREE_UNMATCHED:  snapshot.LossFreeUnmatched,
	bpf.LeakscopeLossReasonLOSS_ADDR_REUSED:     snapshot.LossAddressReused,
	bpf.LeakscopeLossReasonLOSS_READ_FAILED:     snapshot.LossTargetReadFailed,
	bpf.LeakscopeLossReasonLOSS_ALLOCS_FULL:     snapshot.LossAllocCountsFull,
}

// eventNames names enum event.
var eventNames = [len(bpf.LeakscopeCounts{}.Event)]string{
	bpf.LeakscopeEventEV_SAMPLE:  snapshot.EventSamples,
	bpf.LeakscopeEventEV_SPECIAL: snapshot.EventSpecialFrees,
	bpf.LeakscopeEventEV_FREE:    snapshot.EventSampleFrees,
	bpf.LeakscopeEventEV_GC:      snapshot.EventGCCycles,
	bpf.LeakscopeEventEV_MALLOC:  snapshot.EventMallocs,
}
