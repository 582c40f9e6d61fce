// Package tracer loads leakscope's BPF programs, attaches them to the Go
// runtime inside target processes, and reads the kernel maps back as
// per-target snapshots. It owns everything that touches the kernel.
package tracer

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/leakscope/leakscope/bpf"
)

// Options sets the capacity of each kernel map. Every insert that does not
// fit is counted as a loss, never dropped silently.
type Options struct {
	LiveObjects uint32 // sampled objects alive at once, all targets together
	StackSlots  uint32 // buckets of the stack-trace map (all-allocs mode)
	StackStats  uint32 // (target, profile bucket) and all-allocs (target, stack) aggregates
	Targets     uint32 // processes watched at once
}

// DefaultOptions are sized for a host running a handful of large Go
// services: at the default MemProfileRate 512 KiB, 131072 live samples
// stand for about 64 GiB of live heap.
func DefaultOptions() Options {
	return Options{LiveObjects: 131072, StackSlots: 16384, StackStats: 32768, Targets: 1024}
}

// StackDepth is the deepest user stack recorded, in frames (leakscope.c).
const StackDepth = 64

// Tracer owns one loaded BPF collection shared by all targets.
type Tracer struct {
	objs bpf.LeakscopeObjects

	mu      sync.Mutex
	stacks  map[int32][]uint64        // kernel stack ids (all-allocs) are never reused: cache them
	buckets map[uint32]*targetBuckets // per target: its profile buckets read so far
	targets map[uint32]*Attachment
	execs   map[ExeKey]*probeSet // attached executables
}

// New loads the BPF programs and maps with the given capacities.
func New(opts Options) (*Tracer, error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, withPermissionHint(fmt.Errorf("raising the memlock limit: %w", err))
	}
	spec, err := bpf.LoadLeakscope()
	if err != nil {
		return nil, fmt.Errorf("reading the embedded BPF object: %w", err)
	}
	for name, n := range map[string]uint32{
		"live": opts.LiveObjects, "stacks": opts.StackSlots, "stats": opts.StackStats,
		"targets": opts.Targets, "counters": opts.Targets,
		"alloc_counts": opts.StackStats,
	} {
		if n == 0 {
			return nil, fmt.Errorf("capacity of map %q must be positive", name)
		}
		spec.Maps[name].MaxEntries = n
	}
	t := &Tracer{stacks: map[int32][]uint64{}, buckets: map[uint32]*targetBuckets{}, targets: map[uint32]*Attachment{}, execs: map[ExeKey]*probeSet{}}
	if err := spec.LoadAndAssign(&t.objs, nil); err != nil {
		return nil, withPermissionHint(fmt.Errorf("loading BPF programs: %w", err))
	}
	return t, nil
}

// Close detaches every target and unloads the programs and maps.
func (t *Tracer) Close() error {
	t.mu.Lock()
	atts := make([]*Attachment, 0, len(t.targets))
	for _, a := range t.targets {
		atts = append(atts, a)
	}
	t.mu.Unlock()
	var errs []error
	for _, a := range atts {
		errs = append(errs, a.Close())
	}
	errs = append(errs, t.objs.Close())
	return errors.Join(errs...)
}

// MapMemory reports the kernel memory each map is charged for, in bytes,
// as the kernel accounts it (fdinfo "memlock").
func (t *Tracer) MapMemory() map[string]uint64 {
	out := map[string]uint64{}
	for name, m := range map[string]*ebpf.Map{
		"live": t.objs.Live, "stacks": t.objs.Stacks, "stats": t.objs.Stats,
		"targets": t.objs.Targets, "counters": t.objs.Counters,
		"alloc_counts": t.objs.AllocCounts,
	} {
		if n, err := memlock(m); err == nil {
			out[name] = n
		}
	}
	return out
}

// withPermissionHint says what privileges are missing when err is EPERM.
func withPermissionHint(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w (run as root, or with CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE; kernels that refuse uprobe perf events without it also need CAP_SYS_ADMIN: see docs/RELIABILITY.md)", err)
	}
	return err
}
