package retention

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"
)

// marks is a forward search: a breadth-first mark from the roots through
// the heap, read once and kept, recording for every object reached the
// object (or root) it was first reached from. It finds a path of any
// length (a linked list of thousands) in one pass over the reachable
// heap, where the level-by-level reverse search reads the heap once per
// hop; it is used while the pointer-bearing heap fits Config.MaxCache.
type marks struct {
	st *search
	// parent, per span index, per slot: the holder slot it was reached
	// from, rootParent when reached from a root, 0 when not reached.
	parent map[int][]uint64
	roots  map[uint64]edge // slot -> the root edge it was reached by
}

// rootParent marks a slot reached from a root (no slot starts at 1).
const rootParent = 1

// lookupIndex is Lookup with the span's index.
func (x *Index) lookupIndex(p uint64) (int, uint64, bool) {
	i := sort.Search(len(x.Spans), func(i int) bool { return x.Spans[i].Limit > p })
	if i == len(x.Spans) || p < x.Spans[i].Base || x.Spans[i].Elemsize == 0 {
		return 0, 0, false
	}
	s := &x.Spans[i]
	slot := (p - s.Base) / s.Elemsize
	if !s.Allocated(slot) {
		return 0, 0, false
	}
	return i, slot, true
}

// mark reads the pointer-bearing heap and marks from the roots until
// every target slot is reached, the heap is exhausted or the budget runs
// out (Result.Cut).
func (st *search) mark(targets map[uint64]uint64) error {
	if err := st.readHeap(); err != nil {
		return err
	}
	m := &marks{st: st, parent: map[int][]uint64{}, roots: map[uint64]edge{}}
	st.forward = m
	want := map[uint64]bool{}
	for _, slot := range targets {
		want[slot] = true
	}
	var queue []uint64
	visit := func(i int, slot, from uint64) bool {
		s := &st.x.Spans[i]
		p := m.parent[i]
		if p == nil {
			p = make([]uint64, s.Nelems)
			m.parent[i] = p
		}
		if p[slot] != 0 {
			return false
		}
		p[slot] = from
		base := s.Base + slot*s.Elemsize
		delete(want, base)
		if !s.NoScan {
			queue = append(queue, base)
		}
		return true
	}
	// Globals first, to the end, then goroutine frames for what is left:
	// a frame is scanned conservatively (a dead slot can still point at
	// an object a global keeps), so a global that holds an object names
	// it even where a frame's path would be shorter.
	st.res.Depth = 1
	// Armed AfterFunc timers last: they hold what nothing else does.
	for _, kind := range []string{KindGlobal, KindFrame, KindTimer} {
		if kind == KindTimer {
			st.seedTimers(m, visit)
		}
		for ai := range st.roots {
			if a := &st.roots[ai]; a.kind == kind {
				st.seed(m, a, visit)
			}
		}
		for n := 0; len(queue) > 0 && len(want) > 0; n++ {
			if n%4096 == 0 && time.Now().After(st.deadline) {
				st.res.Cut = true
				return nil
			}
			holder := queue[0]
			queue = queue[1:]
			hi, _, _ := st.x.lookupIndex(holder)
			hs := &st.x.Spans[hi]
			if st.runtimeHolder(hs, holder, func() (uint64, bool) { return st.cachedWord(hs, holder) }) {
				st.res.Dropped[LostInternal]++
				continue
			}
			st.words(hs, holder, func(at, w uint64) {
				if st.toP(hs, holder, at, w) {
					return
				}
				if i, slot, ok := st.x.lookupIndex(w); ok && !m.reached(i, slot) {
					visit(i, slot, holder)
				}
			})
		}
		queue = queue[:0]
		if len(want) == 0 {
			break
		}
	}
	return nil
}

// seed visits every object a root area points at, naming the root.
func (st *search) seed(m *marks, a *rootArea, visit func(i int, slot, from uint64) bool) {
	for off := 0; off+8 <= len(a.mem); off += 8 {
		i, slot, ok := st.x.lookupIndex(binary.LittleEndian.Uint64(a.mem[off:]))
		if !ok || m.reached(i, slot) {
			continue
		}
		h, ok := st.nameRoot(a, a.addr+uint64(off))
		if !ok {
			continue
		}
		s := &st.x.Spans[i]
		base := s.Base + slot*s.Elemsize
		h.at, h.next, h.size = a.addr+uint64(off), base, s.Elemsize
		visit(i, slot, rootParent)
		m.roots[base] = edge{hop: h}
	}
}

func (m *marks) reached(i int, slot uint64) bool {
	p := m.parent[i]
	return p != nil && p[slot] != 0
}

// readHeap reads every pointer-bearing span into the cache.
func (st *search) readHeap() error {
	_, err := st.scanHeap(map[uint64]uint64{}, map[uint64]bool{})
	return err
}

// words calls fn with the address and value of every word of the slot
// at base in span s, from the cache (a slot can straddle pieces).
func (st *search) words(s *Span, base uint64, fn func(at, w uint64)) {
	for at := base; at+8 <= base+s.Elemsize; {
		piece := s.Base + (at-s.Base)/chunk*chunk
		b, ok := st.cache[piece]
		if !ok {
			return // not read: counted as heap_read_failed
		}
		for off := at - piece; off+8 <= uint64(len(b)) && at+8 <= base+s.Elemsize; off, at = off+8, at+8 {
			fn(at, binary.LittleEndian.Uint64(b[off:]))
		}
		if at < piece+uint64(len(b)) || at+8 > base+s.Elemsize {
			return
		}
	}
}

// chain is the path of edges from the root that first reached slot down
// to slot, root first; nil if the mark did not reach it.
func (m *marks) chain(slot uint64) []edge {
	st := m.st
	var rev []edge
	for cur := slot; ; {
		i, idx, ok := st.x.lookupIndex(cur)
		if !ok || !m.reached(i, idx) || len(rev) > 1<<20 {
			return nil
		}
		from := m.parent[i][idx]
		size := st.x.Spans[i].Elemsize
		if from == rootParent {
			e, ok := m.roots[cur]
			if !ok {
				return nil
			}
			rev = append(rev, e)
			break
		}
		hi, _, _ := st.x.lookupIndex(from)
		hs := &st.x.Spans[hi]
		e := edge{holder: from, hop: Hop{Kind: KindHeap, Addr: from, Size: hs.Elemsize, Name: fmt.Sprintf("object of %d B", hs.Elemsize), next: cur, size: size}}
		st.words(hs, from, func(at, w uint64) {
			if e.hop.at == 0 && w >= cur && w < cur+size {
				e.hop.at, e.hop.Field = at, at-from
			}
		})
		rev = append(rev, e)
		cur = from
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}
