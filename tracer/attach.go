package tracer

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/leakscope/leakscope/bpf"
	"github.com/leakscope/leakscope/gobin"
)

// Attachment is one target process with its probes attached.
type Attachment struct {
	t     *Tracer
	PID   uint32
	links []link.Link
}

// Attach starts watching pid, whose executable was resolved to hooks. The
// probes are limited to that process; on any failure nothing stays
// attached and the target's map entries are removed.
func (t *Tracer) Attach(pid uint32, hooks *gobin.Hooks) (_ *Attachment, err error) {
	t.mu.Lock()
	_, dup := t.targets[pid]
	t.mu.Unlock()
	if dup {
		return nil, fmt.Errorf("pid %d is already watched", pid)
	}

	a := &Attachment{t: t, PID: pid}
	defer func() {
		if err != nil {
			err = errors.Join(err, a.detach())
		}
	}()

	// Register the target first: the programs ignore every other process.
	tgt := bpf.LeakscopeTarget{KindOff: hooks.SpecialKindOffset, KindProfile: hooks.SpecialKindProfile}
	if err := t.objs.Targets.Update(pid, &tgt, ebpf.UpdateNoExist); err != nil {
		return nil, fmt.Errorf("registering pid %d: %w", pid, err)
	}
	zero := make([]bpf.LeakscopeCounts, ebpf.MustPossibleCPU())
	if err := t.objs.Counters.Update(pid, zero, ebpf.UpdateAny); err != nil {
		return nil, fmt.Errorf("registering counters of pid %d: %w", pid, err)
	}

	// Through /proc/PID/exe: the kernel resolves the inode the process runs,
	// whatever mount namespace it lives in and whatever paths it controls.
	exe, err := link.OpenExecutable(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return nil, fmt.Errorf("opening executable of pid %d: %w", pid, err)
	}
	for _, p := range []struct {
		hook gobin.Hook
		prog *ebpf.Program
	}{
		{hooks.ProfileAlloc, t.objs.Profilealloc},
		{hooks.SetProfileBucket, t.objs.Setprofilebucket},
		{hooks.FreeSpecial, t.objs.FreeSpecial},
		{hooks.GCMarkTermination, t.objs.GcMarkTermination},
	} {
		// Address is a file offset; a plain uprobe, never a uretprobe:
		// return probes corrupt Go stacks when they move.
		l, err := exe.Uprobe(p.hook.Name, p.prog, &link.UprobeOptions{Address: p.hook.FileOffset, PID: int(pid)})
		if errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("attaching uprobe to %s in pid %d: this kernel lacks uprobe support (CONFIG_UPROBE_EVENTS): %w", p.hook.Name, pid, err)
		}
		if err != nil {
			return nil, withPermissionHint(fmt.Errorf("attaching uprobe to %s in pid %d: %w", p.hook.Name, pid, err))
		}
		a.links = append(a.links, l)
	}

	t.mu.Lock()
	t.targets[pid] = a
	t.mu.Unlock()
	return a, nil
}

// Close detaches the probes and removes the target's entries from every
// kernel map.
func (a *Attachment) Close() error {
	a.t.mu.Lock()
	delete(a.t.targets, a.PID)
	a.t.mu.Unlock()
	return a.detach()
}

func (a *Attachment) detach() error {
	var errs []error
	for _, l := range a.links {
		errs = append(errs, l.Close())
	}
	a.links = nil
	errs = append(errs, a.t.forget(a.PID))
	return errors.Join(errs...)
}

// forget deletes every map entry that belongs to pid.
func (t *Tracer) forget(pid uint32) error {
	var errs []error
	ignoreMissing := func(err error) error {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		return err
	}
	errs = append(errs, ignoreMissing(t.objs.Targets.Delete(pid)))
	errs = append(errs, ignoreMissing(t.objs.Counters.Delete(pid)))

	var liveKeys []bpf.LeakscopeLiveKey
	var statKeys []bpf.LeakscopeStatsKey
	var pendKeys []uint32
	errs = append(errs,
		batchAll(t.objs.Live, func(k bpf.LeakscopeLiveKey, _ bpf.LeakscopeLiveVal) {
			if k.Tgid == pid {
				liveKeys = append(liveKeys, k)
			}
		}),
		batchAll(t.objs.Stats, func(k bpf.LeakscopeStatsKey, _ bpf.LeakscopeStatsVal) {
			if k.Tgid == pid {
				statKeys = append(statKeys, k)
			}
		}),
		batchAll(t.objs.Pending, func(tid uint32, v bpf.LeakscopePendingAlloc) {
			if v.Tgid == pid {
				pendKeys = append(pendKeys, tid)
			}
		}))
	for _, k := range liveKeys {
		errs = append(errs, ignoreMissing(t.objs.Live.Delete(k)))
	}
	for _, k := range statKeys {
		errs = append(errs, ignoreMissing(t.objs.Stats.Delete(k)))
	}
	for _, k := range pendKeys {
		errs = append(errs, ignoreMissing(t.objs.Pending.Delete(k)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing map entries of pid %d: %w", pid, err)
	}
	return nil
}
