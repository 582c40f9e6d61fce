package tracer

import (
	"fmt"
	"os"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/leakscope/leakscope/bpf"
	"github.com/leakscope/leakscope/internal/testutil"
)

// BenchmarkSnapshot times Tracer.Snapshot with 100K and 1M live sampled
// objects in the kernel map (one target, spread over 1000 stacks), the
// work leakscope does once per --interval. The maps are filled from user
// space: no target has to keep a million sampled objects alive. The
// "target" is the benchmark process itself, holding 1000 fake runtime
// profile buckets that the first snapshot reads from its memory, as a real
// watch reads each new bucket of its target once.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("live=%dK", n/1000), func(b *testing.B) { benchSnapshot(b, n) })
	}
}

func benchSnapshot(b *testing.B, live int) {
	testutil.RequireBPF(b)
	const stacks = 1000
	pid := uint32(os.Getpid())
	buckets := fakeBuckets(stacks)
	opts := DefaultOptions()
	opts.LiveObjects = uint32(live)
	t, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer t.Close()
	if err := t.objs.Targets.Update(pid, &bpf.LeakscopeTarget{GcCycles: 100}, ebpf.UpdateNoExist); err != nil {
		b.Fatal(err)
	}
	if err := t.objs.Counters.Update(pid, make([]bpf.LeakscopeCounts, ebpf.MustPossibleCPU()), ebpf.UpdateAny); err != nil {
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
		vals = append(vals, bpf.LeakscopeLiveVal{Bucket: buckets[i%stacks], Gc: uint64(i % 100), TimeNs: uint64(i)})
		if len(keys) == chunk {
			flush()
		}
	}
	if len(keys) > 0 {
		flush()
	}
	for s := range stacks {
		k := bpf.LeakscopeStatsKey{Tgid: pid, Bucket: buckets[s]}
		v := bpf.LeakscopeStatsVal{Allocs: uint64(live / stacks)}
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
		var got, bytes uint64
		for _, st := range snaps[pid].Stacks {
			got += st.LiveObjects
			bytes += st.LiveBytes
		}
		if got != uint64(live) || bytes != uint64(live)*64 || len(snaps[pid].Stacks) != stacks {
			b.Fatalf("snapshot counted %d live objects, %d bytes, %d stacks; want %d, %d, %d",
				got, bytes, len(snaps[pid].Stacks), live, live*64, stacks)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/snapshot")
}

// bucketMem keeps the fake buckets alive (the Go heap does not move them).
var bucketMem [][]uint64

// fakeBuckets lays out n heap-profile buckets in the runtime's format, of
// 64-byte objects with distinct 10-frame stacks, and returns their addresses.
func fakeBuckets(n int) []uint64 {
	addrs := make([]uint64, n)
	for i := range addrs {
		const frames = 10
		b := make([]uint64, 6+frames)
		b[2], b[4], b[5] = bucketTypeMem, 64, frames
		for f := range frames {
			b[6+f] = 0x401000 + uint64(i)*0x100 + uint64(f)
		}
		bucketMem = append(bucketMem, b)
		addrs[i] = uint64(uintptr(unsafe.Pointer(&b[0])))
	}
	return addrs
}
