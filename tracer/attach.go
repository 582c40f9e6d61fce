package tracer

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/leakscope/leakscope/bpf"
	"github.com/leakscope/leakscope/gobin"
)

// Attachment is one watched target process.
type Attachment struct {
	t      *Tracer
	PID    uint32
	probes *probeSet // shared with other processes of the same executable
	// allocLinks is the --mode=all-allocs probe, this process's own.
	allocLinks []link.Link
	rates      rateTimeline   // guarded by t.mu
	liveRates  map[int64]bool // rates of the live samples at the last read; guarded by t.mu
}

// Executable is the key of the probe set the target shares.
func (a *Attachment) Executable() ExeKey { return a.probes.key }

// Attach starts watching pid, whose executable was resolved to hooks.
// Probes are attached once per executable (see ProbeSets); pid only joins
// the targets map that every program filters on. On any failure nothing
// stays attached and the target's map entries are removed.
func (t *Tracer) Attach(pid uint32, hooks *gobin.Hooks) (_ *Attachment, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.targets[pid]; dup {
		return nil, fmt.Errorf("pid %d is already watched", pid)
	}
	// Register the target first: the programs ignore every other process.
	tgt := bpf.LeakscopeTarget{KindOff: hooks.SpecialKindOffset, KindProfile: hooks.SpecialKindProfile}
	if err := t.objs.Targets.Update(pid, &tgt, ebpf.UpdateNoExist); err != nil {
		return nil, errors.Join(fmt.Errorf("registering pid %d: %w", pid, err), t.forget(pid))
	}
	zero := make([]bpf.LeakscopeCounts, ebpf.MustPossibleCPU())
	if err := t.objs.Counters.Update(pid, zero, ebpf.UpdateAny); err != nil {
		return nil, errors.Join(fmt.Errorf("registering counters of pid %d: %w", pid, err), t.forget(pid))
	}
	ps, err := t.acquireProbes(pid, hooks)
	if err != nil {
		return nil, errors.Join(err, t.forget(pid))
	}
	a := &Attachment{t: t, PID: pid, probes: ps}
	t.targets[pid] = a
	return a, nil
}

// Close stops watching the target: it removes the target's entries from
// every kernel map, and detaches the probes if no other watched process
// runs the same executable.
func (a *Attachment) Close() error {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.targets[a.PID] != a {
		return nil // closed already
	}
	delete(t.targets, a.PID)
	return errors.Join(closeLinks(a.allocLinks), t.releaseProbes(a.probes), t.forget(a.PID))
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
	errs = append(errs, t.forgetAllocSites(pid))

	var liveKeys []bpf.LeakscopeLiveKey
	var statKeys []bpf.LeakscopeStatsKey
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
		}))
	for _, k := range liveKeys {
		errs = append(errs, ignoreMissing(t.objs.Live.Delete(k)))
	}
	for _, k := range statKeys {
		errs = append(errs, ignoreMissing(t.objs.Stats.Delete(k)))
	}
	delete(t.buckets, pid) // a later process with this pid has other buckets
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing map entries of pid %d: %w", pid, err)
	}
	return nil
}
