package tracer

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"

	"github.com/leakscope/leakscope/bpf"
	"github.com/leakscope/leakscope/snapshot"
)

// maxLiveAge caps the per-age histogram of live objects; older objects are
// counted in the last slot.
const maxLiveAge = 63

// Snapshot reads the kernel maps once and returns one snapshot per watched
// target. Reading is lock-free on the kernel side: probes keep running.
func (t *Tracer) Snapshot() (map[uint32]*snapshot.Snapshot, error) {
	snaps := t.emptySnapshots(time.Now())
	if err := t.readCounters(snaps); err != nil {
		return nil, err
	}
	rates, refs := t.timelines()
	for pid, ref := range refs {
		if s := snaps[pid]; s != nil {
			s.RateRef = ref
		}
	}
	perBucket, live, err := t.readBuckets(snaps, rates)
	if err != nil {
		return nil, err
	}
	t.noteLiveRates(liveRatesOf(live))
	t.mergeBuckets(snaps, perBucket, live, rates)
	if err := t.readAllocSites(snaps); err != nil {
		return nil, fmt.Errorf("reading allocation counts: %w", err)
	}
	t.addStacks(snaps)
	return snaps, nil
}

// emptySnapshots starts one snapshot per watched target.
func (t *Tracer) emptySnapshots(now time.Time) map[uint32]*snapshot.Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	snaps := make(map[uint32]*snapshot.Snapshot, len(t.targets))
	for pid := range t.targets {
		snaps[pid] = &snapshot.Snapshot{PID: pid, Time: now, Stacks: map[int32]*snapshot.StackStats{},
			Losses: map[string]uint64{}, Events: map[string]uint64{}}
	}
	return snaps
}

// readCounters reads each target's GC clock and its loss and event
// counters, summing the per-CPU copies.
func (t *Tracer) readCounters(snaps map[uint32]*snapshot.Snapshot) error {
	for pid, s := range snaps {
		var tgt bpf.LeakscopeTarget
		if err := t.objs.Targets.Lookup(pid, &tgt); err != nil {
			return fmt.Errorf("reading target %d: %w", pid, err)
		}
		s.GCCycles = tgt.GcCycles
		var perCPU []bpf.LeakscopeCounts
		if err := t.objs.Counters.Lookup(pid, &perCPU); err != nil {
			return fmt.Errorf("reading counters of %d: %w", pid, err)
		}
		for _, c := range perCPU {
			for i, name := range lossNames {
				s.Losses[name] += c.Loss[i]
			}
			for i, name := range eventNames {
				s.Events[name] += c.Event[i]
			}
		}
	}
	return nil
}

// bucketKey is one profile bucket of one target: the kernel keys samples
// on the runtime's bucket, so counts are gathered per bucket first, then
// merged per stack.
type bucketKey struct {
	pid  uint32
	addr uint64
}

// bucketCounts are the counts of each bucket read so far.
type bucketCounts map[bucketKey]*snapshot.StackStats

func (bc bucketCounts) at(k bucketKey) *snapshot.StackStats {
	st := bc[k]
	if st == nil {
		st = &snapshot.StackStats{LiveAges: make([]uint64, maxLiveAge+1)}
		bc[k] = st
	}
	return st
}

// readBuckets reads the per-bucket totals and the live objects of the
// targets in snaps. For a target whose rate has changed (see
// rateTimeline), live samples are also counted per rate, and its
// LiveAges keep each at the reference rate (keepSample).
func (t *Tracer) readBuckets(snaps map[uint32]*snapshot.Snapshot, rates map[uint32]rateTimeline) (bucketCounts, map[bucketKey]liveByRate, error) {
	perBucket := bucketCounts{}
	perRate := map[bucketKey]liveByRate{}
	err := batchAll(t.objs.Stats, func(k bpf.LeakscopeStatsKey, v bpf.LeakscopeStatsVal) {
		if snaps[k.Tgid] == nil {
			return
		}
		st := perBucket.at(bucketKey{k.Tgid, k.Bucket})
		// FreedAge is [snapshot.AgeBuckets]uint64, the generated one
		// [AGE_BUCKETS]uint64: this assignment compiles only while they
		// agree.
		st.Allocs, st.Frees, st.FreedAge = v.Allocs, v.Frees, v.FreedAge
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading stack stats: %w", err)
	}
	err = batchAll(t.objs.Live, func(k bpf.LeakscopeLiveKey, v bpf.LeakscopeLiveVal) {
		s := snaps[k.Tgid]
		if s == nil {
			return
		}
		bk := bucketKey{k.Tgid, v.Bucket}
		st := perBucket.at(bk)
		st.LiveObjects++
		keep := true
		if s.RateRef > 0 {
			r := rates[k.Tgid].at(v.TimeNs)
			l := perRate[bk]
			if l == nil {
				l = liveByRate{}
				perRate[bk] = l
			}
			l[r]++
			keep = keepSample(k.Addr, v.TimeNs, r, s.RateRef)
		}
		age := uint64(0)
		if s.GCCycles > v.Gc {
			age = s.GCCycles - v.Gc
		}
		if keep {
			st.LiveAges[min(age, maxLiveAge)]++
		}
		if st.OldestAllocNS == 0 || v.TimeNs < st.OldestAllocNS {
			st.OldestAllocNS = v.TimeNs
		}
		st.NoteSample(snapshot.LiveSample{Addr: k.Addr, AllocNS: v.TimeNs})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading live objects: %w", err)
	}
	return perBucket, perRate, nil
}

// liveRatesOf is, per target, the rates its live samples were taken at.
func liveRatesOf(live map[bucketKey]liveByRate) map[uint32]map[int64]bool {
	out := map[uint32]map[int64]bool{}
	for k, l := range live {
		m := out[k.pid]
		if m == nil {
			m = map[int64]bool{}
			out[k.pid] = m
		}
		for r := range l {
			m[r] = true
		}
	}
	return out
}

// mergeBuckets adds each bucket's counts to the stack it records, read
// from the target (once per bucket; see bucket.go), and, for a target
// whose rate has changed, the rate-weighted estimates.
func (t *Tracer) mergeBuckets(snaps map[uint32]*snapshot.Snapshot, perBucket bucketCounts, live map[bucketKey]liveByRate, rates map[uint32]rateTimeline) {
	for k, b := range perBucket {
		s := snaps[k.pid]
		info, err := t.bucket(k.pid, k.addr)
		if err != nil {
			// Counted; the objects still show, under no stack and with
			// no size (the size is in the bucket).
			s.Losses[snapshot.LossStackReadFailed]++
			info.stackID = -1
		}
		mergeBucket(s, info, b)
		tl := rates[k.pid]
		if len(tl) == 0 {
			continue
		}
		allocs := t.allocEstimate(k, b.Allocs, info.size, tl[len(tl)-1].rate)
		if s.RateRef > 0 {
			st := s.Stacks[info.stackID]
			est := live[k].estimate(info.size)
			st.LiveEstObjects += est
			st.LiveEstBytes += est * float64(info.size)
			st.AllocEstObjects += allocs
			st.AllocEstBytes += allocs * float64(info.size)
		}
	}
}

// allocEstimate brings the estimate of bucket k's allocations up to its
// sampled count allocs, the new ones scaled at rate, and returns it.
func (t *Tracer) allocEstimate(k bucketKey, allocs, size uint64, rate int64) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	tb := t.buckets[k.pid]
	if tb == nil {
		return 0
	}
	if tb.allocs == nil {
		tb.allocs = map[uint64]*allocEstimate{}
	}
	a := tb.allocs[k.addr]
	if a == nil {
		a = &allocEstimate{}
		tb.allocs[k.addr] = a
	}
	a.add(allocs, size, rate)
	return a.est
}

// addStacks fills in the PCs of every stack of the snapshots.
func (t *Tracer) addStacks(snaps map[uint32]*snapshot.Snapshot) {
	for _, s := range snaps {
		for id, st := range s.Stacks {
			if id >= 0 {
				st.PCs = t.bucketPCs(s.PID, id)
			}
		}
		for id, site := range s.AllocSites {
			site.PCs = t.pcsOrCount(s, id)
		}
	}
}

// mergeBucket adds one bucket's counts to the StackStats of its stack,
// turning counts into bytes with the bucket's object size.
func mergeBucket(s *snapshot.Snapshot, info bucketInfo, b *snapshot.StackStats) {
	st := s.Stacks[info.stackID]
	if st == nil {
		st = &snapshot.StackStats{StackID: info.stackID, LiveAges: make([]uint64, maxLiveAge+1)}
		s.Stacks[info.stackID] = st
	}
	st.Allocs += b.Allocs
	st.AllocBytes += b.Allocs * info.size
	st.Frees += b.Frees
	st.FreeBytes += b.Frees * info.size
	for i, n := range b.FreedAge {
		st.FreedAge[i] += n
	}
	st.LiveObjects += b.LiveObjects
	st.LiveBytes += b.LiveObjects * info.size
	for i, n := range b.LiveAges {
		st.LiveAges[i] += n
	}
	if st.OldestAllocNS == 0 || (b.OldestAllocNS != 0 && b.OldestAllocNS < st.OldestAllocNS) {
		st.OldestAllocNS = b.OldestAllocNS
	}
	for _, o := range b.Oldest {
		st.NoteSample(o)
	}
}

// pcsOrCount returns the all-allocs stack recorded under kernel stack id,
// or nil for an unknown stack (negative id) and for one that cannot be
// read, which is counted: its allocations still show, under no stack.
func (t *Tracer) pcsOrCount(s *snapshot.Snapshot, id int32) []uint64 {
	if id < 0 {
		return nil
	}
	pcs, err := t.stackPCs(id)
	if err != nil {
		s.Losses[snapshot.LossStackReadFailed]++
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
