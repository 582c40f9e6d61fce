package tracer

import (
	"fmt"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/leakscope/leakscope/bpf"
	"github.com/leakscope/leakscope/internal/testutil"
)

// BenchmarkSnapshot times Tracer.Snapshot with 100K and 1M live sampled
// objects in the kernel map (one target, spread over 1000 stacks), the
// work leakscope does once per --interval. The maps are filled from user
// space: no target has to keep a million sampled objects alive. The stack
// ids have no stack in the stack map (user space cannot write one), so
// each snapshot also pays a failed lookup per stack, as a real watch does
// only for stacks not cached yet.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("live=%dK", n/1000), func(b *testing.B) { benchSnapshot(b, n) })
	}
}

func benchSnapshot(b *testing.B, live int) {
	testutil.RequireBPF(b)
	const stacks, pid = 1000, 4242
	opts := DefaultOptions()
	opts.LiveObjects = uint32(live)
	t, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer t.Close()
	if err := t.objs.Targets.Update(uint32(pid), &bpf.LeakscopeTarget{GcCycles: 100}, ebpf.UpdateNoExist); err != nil {
		b.Fatal(err)
	}
	if err := t.objs.Counters.Update(uint32(pid), make([]bpf.LeakscopeCounts, ebpf.MustPossibleCPU()), ebpf.UpdateAny); err != nil {
		b.Fatal(err)
	}
	// Registered without probes; Close removes the entries again.
	t.targets[pid] = &Attachment{t: t, PID: pid, probes: &probeSet{users: 1}}

	const chunk = 65536
	keys := make([]bpf.LeakscopeLiveKey, 0, chunk)
	vals := make([]bpf.LeakscopeLiveVal, 0, chunk)
	flush := func() {
		if _, err := t.objs.Live.BatchUpdate(keys, vals, nil); err != nil {
			b.Fatalf("filling the live map: %v", err)
		}
		keys, vals = keys[:0], vals[:0]
	}
	for i := range live {
		keys = append(keys, bpf.LeakscopeLiveKey{Tgid: pid, Addr: 0xc000000000 + uint64(i)*64})
		vals = append(vals, bpf.LeakscopeLiveVal{StackId: int32(i % stacks), Size: 64, Gc: uint64(i % 100), TimeNs: uint64(i)})
		if len(keys) == chunk {
			flush()
		}
	}
	if len(keys) > 0 {
		flush()
	}
	for s := range stacks {
		k := bpf.LeakscopeStatsKey{Tgid: pid, StackId: int32(s)}
		v := bpf.LeakscopeStatsVal{Allocs: uint64(live / stacks), AllocBytes: uint64(live / stacks * 64)}
		if err := t.objs.Stats.Update(k, v, ebpf.UpdateAny); err != nil {
			b.Fatal(err)
		}
	}

	b.ResetTimer()
	for range b.N {
		snaps, err := t.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		var got uint64
		for _, st := range snaps[pid].Stacks {
			got += st.LiveObjects
		}
		if got != uint64(live) {
			b.Fatalf("snapshot counted %d live objects, want %d", got, live)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/snapshot")
}
