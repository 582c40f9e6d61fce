package tracer

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"

	"github.com/leakscope/leakscope/bpf"
)

// maxLiveAge caps the per-age histogram of live objects; older objects are
// counted in the last slot.
const maxLiveAge = 63

// Snapshot reads the kernel maps once and returns one snapshot per watched
// target. Reading is lock-free on the kernel side: probes keep running.
func (t *Tracer) Snapshot() (map[uint32]*Snapshot, error) {
	now := time.Now()
	t.mu.Lock()
	snaps := make(map[uint32]*Snapshot, len(t.targets))
	for pid := range t.targets {
		snaps[pid] = &Snapshot{PID: pid, Time: now, Stacks: map[int32]*StackStats{},
			Losses: map[string]uint64{}, Events: map[string]uint64{}}
	}
	t.mu.Unlock()

	for pid, s := range snaps {
		var tgt bpf.LeakscopeTarget
		if err := t.objs.Targets.Lookup(pid, &tgt); err != nil {
			return nil, fmt.Errorf("reading target %d: %w", pid, err)
		}
		s.GCCycles = tgt.GcCycles
		var perCPU []bpf.LeakscopeCounts
		if err := t.objs.Counters.Lookup(pid, &perCPU); err != nil {
			return nil, fmt.Errorf("reading counters of %d: %w", pid, err)
		}
		for _, c := range perCPU {
			for i, name := range LossReasons {
				s.Losses[name] += c.Loss[i]
			}
			for i, name := range EventNames {
				s.Events[name] += c.Event[i]
			}
		}
	}

	stack := func(s *Snapshot, id int32) *StackStats {
		st := s.Stacks[id]
		if st == nil {
			st = &StackStats{StackID: id, LiveAges: make([]uint64, maxLiveAge+1)}
			s.Stacks[id] = st
		}
		return st
	}
	err := batchAll(t.objs.Stats, func(k bpf.LeakscopeStatsKey, v bpf.LeakscopeStatsVal) {
		s := snaps[k.Tgid]
		if s == nil {
			return
		}
		st := stack(s, k.StackId)
		st.Allocs, st.AllocBytes = v.Allocs, v.AllocBytes
		st.Frees, st.FreeBytes = v.Frees, v.FreeBytes
		st.FreedAge = v.FreedAge
	})
	if err != nil {
		return nil, fmt.Errorf("reading stack stats: %w", err)
	}
	err = batchAll(t.objs.Live, func(k bpf.LeakscopeLiveKey, v bpf.LeakscopeLiveVal) {
		s := snaps[k.Tgid]
		if s == nil {
			return
		}
		st := stack(s, v.StackId)
		st.LiveObjects++
		st.LiveBytes += v.Size
		age := uint64(0)
		if s.GCCycles > v.Gc {
			age = s.GCCycles - v.Gc
		}
		st.LiveAges[min(age, maxLiveAge)]++
		if st.OldestAllocNS == 0 || v.TimeNs < st.OldestAllocNS {
			st.OldestAllocNS = v.TimeNs
		}
	})
	if err != nil {
		return nil, fmt.Errorf("reading live objects: %w", err)
	}
	if err := t.readAllocSites(snaps); err != nil {
		return nil, fmt.Errorf("reading allocation counts: %w", err)
	}

	for _, s := range snaps {
		for id, st := range s.Stacks {
			st.PCs = t.pcsOrCount(s, id)
		}
		for id, site := range s.AllocSites {
			site.PCs = t.pcsOrCount(s, id)
		}
	}
	return snaps, nil
}

// pcsOrCount returns the stack recorded under id, or nil for an unknown
// stack (negative id) and for one that cannot be read, which is counted:
// its objects still show, under no stack.
func (t *Tracer) pcsOrCount(s *Snapshot, id int32) []uint64 {
	if id < 0 {
		return nil
	}
	pcs, err := t.stackPCs(id)
	if err != nil {
		s.Losses["stack_read_failed"]++
		return nil
	}
	return pcs
}

// stackPCs returns the user stack recorded under id, innermost first.
func (t *Tracer) stackPCs(id int32) ([]uint64, error) {
	t.mu.Lock()
	pcs, ok := t.stacks[id]
	t.mu.Unlock()
	if ok {
		return pcs, nil
	}
	var raw [StackDepth]uint64
	if err := t.objs.Stacks.Lookup(uint32(id), &raw); err != nil {
		return nil, err
	}
	n := 0
	for n < len(raw) && raw[n] != 0 {
		n++
	}
	pcs = append([]uint64(nil), raw[:n]...)
	t.mu.Lock()
	t.stacks[id] = pcs
	t.mu.Unlock()
	return pcs, nil
}

// batchAll calls fn for every entry of m, reading in batches: one syscall
// per few thousand entries instead of one per entry.
func batchAll[K, V any](m *ebpf.Map, fn func(K, V)) error {
	const chunk = 4096
	keys := make([]K, chunk)
	vals := make([]V, chunk)
	var cursor ebpf.MapBatchCursor
	for {
		n, err := m.BatchLookup(&cursor, keys, vals, nil)
		for i := range n {
			fn(keys[i], vals[i])
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if errors.Is(err, ebpf.ErrNotSupported) {
			return iterateAll(m, fn)
		}
		if err != nil {
			return err
		}
	}
}

func iterateAll[K, V any](m *ebpf.Map, fn func(K, V)) error {
	var k K
	var v V
	it := m.Iterate()
	for it.Next(&k, &v) {
		fn(k, v)
	}
	return it.Err()
}
