package tracer

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/leakscope/leakscope/bpf"
	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/snapshot"
)

// MallocHookName is the function the all-allocs mode probes. Since Go 1.24
// it dispatches to mallocgcTiny, mallocgcSmallNoscan, mallocgcSmallScan*,
// mallocgcLarge (and Go 1.26's size-specialised variants), but every heap
// allocation still enters through it, exactly once: probing the variants
// as well would count each allocation twice.
const MallocHookName = "runtime.mallocgc"

// AttachAllAllocs adds the every-allocation probe to an attached target:
// one uprobe on runtime.mallocgc after its prologue, which walks the stack
// on every heap allocation. That costs microseconds per allocation (see
// docs/BENCHMARKS.md): a program allocating millions of objects a second
// slows down several times. It exists for exact allocation counts per
// site, for short investigations, not for continuous monitoring.
//
// Unlike the sampled probes (one set per executable, see ProbeSets) it is
// attached per process: the kernel then plants the breakpoint only in
// this process, so other processes running the same executable never
// trap on their allocations.
func (a *Attachment) AttachAllAllocs(malloc gobin.Hook) error {
	if malloc.Name != MallocHookName {
		return fmt.Errorf("all-allocs probe: hook is %s, want %s", malloc.Name, MallocHookName)
	}
	exe, err := link.OpenExecutable(fmt.Sprintf("/proc/%d/exe", a.PID))
	if err != nil {
		return fmt.Errorf("opening executable of pid %d: %w", a.PID, err)
	}
	// A plain uprobe after the frame setup, like every other hook.
	l, err := exe.Uprobe(malloc.Name, a.t.objs.Mallocgc, &link.UprobeOptions{Address: malloc.FileOffset, PID: int(a.PID)})
	if err != nil {
		return withPermissionHint(fmt.Errorf("attaching uprobe to %s in pid %d: %w", malloc.Name, a.PID, err))
	}
	a.t.mu.Lock()
	a.allocLinks = append(a.allocLinks, l)
	a.t.mu.Unlock()
	return nil
}

// readAllocSites adds the all-allocs counts to the snapshots, summing the
// per-CPU copies.
func (t *Tracer) readAllocSites(snaps map[uint32]*snapshot.Snapshot) error {
	return perCPUAll(t.objs.AllocCounts, func(k bpf.LeakscopeSiteKey, perCPU []bpf.LeakscopeAllocCount) {
		s := snaps[k.Tgid]
		if s == nil {
			return
		}
		if s.AllocSites == nil {
			s.AllocSites = map[int32]*snapshot.AllocSite{}
		}
		site := s.AllocSites[k.StackId]
		if site == nil {
			site = &snapshot.AllocSite{StackID: k.StackId}
			s.AllocSites[k.StackId] = site
		}
		for _, c := range perCPU {
			site.Allocs += c.Allocs
			site.Bytes += c.Bytes
		}
	})
}

// forgetAllocSites deletes pid's all-allocs counts.
func (t *Tracer) forgetAllocSites(pid uint32) error {
	var keys []bpf.LeakscopeSiteKey
	err := perCPUAll(t.objs.AllocCounts, func(k bpf.LeakscopeSiteKey, _ []bpf.LeakscopeAllocCount) {
		if k.Tgid == pid {
			keys = append(keys, k)
		}
	})
	errs := []error{err}
	for _, k := range keys {
		if err := t.objs.AllocCounts.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// perCPUAll is batchAll for a per-CPU map: fn gets each key with its
// values on every possible CPU.
func perCPUAll[K, V any](m *ebpf.Map, fn func(K, []V)) error {
	const chunk = 1024
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return err
	}
	keys := make([]K, chunk)
	vals := make([]V, chunk*ncpu)
	var cursor ebpf.MapBatchCursor
	for {
		n, err := m.BatchLookup(&cursor, keys, vals, nil)
		for i := range n {
			fn(keys[i], vals[i*ncpu:(i+1)*ncpu])
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if errors.Is(err, ebpf.ErrNotSupported) {
			var k K
			var v []V
			it := m.Iterate()
			for it.Next(&k, &v) {
				fn(k, v)
			}
			return it.Err()
		}
		if err != nil {
			return err
		}
	}
}
