package retention

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/symbolize"
)

// Span is one in-use span of the heap, as read.
type Span struct {
	Base, Limit uint64 // [Base, Limit): its pages
	Elemsize    uint64
	Nelems      uint64
	FreeIndex   uint64
	NoScan      bool   // holds no pointers
	Large       bool   // size class 0: one object
	allocBits   []byte // nil when unreadable
	largeType   uint64 // mspan.largeType (1.22+), run-time address
}

// Allocated tells whether slot i holds an object: every slot below
// freeindex has been handed out since the last sweep, and above it the
// sweep's allocation bits say which survived.
func (s *Span) Allocated(i uint64) bool {
	if i >= s.Nelems {
		return false
	}
	if i < s.FreeIndex {
		return true
	}
	return i/8 < uint64(len(s.allocBits)) && s.allocBits[i/8]&(1<<(i%8)) != 0
}

// Index is the in-use spans of a heap, sorted by address.
type Index struct {
	Spans []Span
	// Dropped counts what was read but not believed or not readable, by
	// reason (the Drop* names).
	Dropped map[string]int
	// Arenas is the number of heap arenas found.
	Arenas     int
	arenaBytes uint64
	arenas     map[uint64]bool // their start addresses
}

// inArena tells whether p lies in a heap arena of the index.
func (x *Index) inArena(p uint64) bool { return x.arenaBytes > 0 && x.arenas[p&^(x.arenaBytes-1)] }

// Reasons a structure is dropped while indexing, counted in Index.Dropped.
const (
	DropArenaUnreadable = "arena_unreadable"
	DropSpanUnreadable  = "span_unreadable"
	DropSpanBad         = "span_implausible"
	DropBitsUnreadable  = "allocbits_unreadable"
)

// Lookup returns the span holding p and the base of p's slot.
func (x *Index) Lookup(p uint64) (*Span, uint64, bool) {
	i := sort.Search(len(x.Spans), func(i int) bool { return x.Spans[i].Limit > p })
	if i == len(x.Spans) || p < x.Spans[i].Base {
		return nil, 0, false
	}
	s := &x.Spans[i]
	if s.Elemsize == 0 {
		return nil, 0, false
	}
	slot := (p - s.Base) / s.Elemsize
	if !s.Allocated(slot) {
		return nil, 0, false
	}
	return s, s.Base + slot*s.Elemsize, true
}

// spanOf is the span holding p, allocated slot or not.
func (x *Index) spanOf(p uint64) *Span {
	i := sort.Search(len(x.Spans), func(i int) bool { return x.Spans[i].Limit > p })
	if i == len(x.Spans) || p < x.Spans[i].Base {
		return nil
	}
	return &x.Spans[i]
}

// ScanBytes is the size of the pointer-bearing spans.
func (x *Index) ScanBytes() uint64 {
	var n uint64
	for i := range x.Spans {
		if !x.Spans[i].NoScan {
			n += x.Spans[i].Limit - x.Spans[i].Base
		}
	}
	return n
}

// heapMappings are the mappings an arena can lie in: private, writable and
// anonymous. Reading the whole arena index instead (4M entries on amd64)
// page-faults the target's sparse table for nothing.
func heapMappings(maps []symbolize.Mapping) []symbolize.Mapping {
	var out []symbolize.Mapping
	for _, m := range maps {
		if m.Path == "" && len(m.Perms) >= 4 && m.Perms[0] == 'r' && m.Perms[1] == 'w' && m.Perms[3] == 'p' {
			out = append(out, m)
		}
	}
	return out
}

// BuildIndex reads the arena index at arenas (run-time address), the
// heapArena of every arena within maps, their span tables, the in-use
// spans and their allocation bits. The target
// runs meanwhile: what does not validate is counted and dropped.
func BuildIndex(mem goroutines.Memory, l *HeapLayout, arenas uint64, maps []symbolize.Mapping) (*Index, error) {
	x := &Index{Dropped: map[string]int{}}
	arenaAddrs, err := readArenas(mem, l, arenas, heapMappings(maps), x)
	if err != nil {
		return nil, err
	}
	x.Arenas, x.arenaBytes, x.arenas = len(arenaAddrs), l.HeapArenaBytes, map[uint64]bool{}
	for a := range arenaAddrs {
		x.arenas[a] = true
	}
	tables, spanPtrs, err := readSpanTables(mem, l, arenaAddrs, x)
	if err != nil {
		return nil, err
	}
	if err := readSpans(mem, l, tables, spanPtrs, x); err != nil {
		return nil, err
	}
	sort.Slice(x.Spans, func(i, j int) bool { return x.Spans[i].Base < x.Spans[j].Base })
	return x, nil
}

// readArenas returns, per arena that the maps cover and the index knows,
// its start address and the run-time address of its heapArena.
func readArenas(mem goroutines.Memory, l *HeapLayout, arenas uint64, maps []symbolize.Mapping, x *Index) (map[uint64]uint64, error) {
	l1 := make([]byte, 8*l.ArenaL1)
	ok := []bool{false}
	if err := mem.ReadBatch([]uint64{arenas}, [][]byte{l1}, ok); err != nil {
		return nil, err
	}
	if !ok[0] {
		return nil, fmt.Errorf("%w: cannot read the arena index at %#x", ErrNoMheap, arenas)
	}
	// The arena starts each mapping covers, and where their entries are.
	var starts, addrs []uint64
	seen := map[uint64]bool{}
	for _, m := range maps {
		for a := m.Start &^ (l.HeapArenaBytes - 1); a < m.End && a >= m.Start&^(l.HeapArenaBytes-1); a += l.HeapArenaBytes {
			ri := (a - l.ArenaBaseOffset) / l.HeapArenaBytes
			i1, i2 := ri/l.ArenaL2, ri%l.ArenaL2
			if i1 >= l.ArenaL1 || seen[a] {
				continue
			}
			seen[a] = true
			l2 := binary.LittleEndian.Uint64(l1[8*i1:])
			if l2 == 0 {
				continue
			}
			starts = append(starts, a)
			addrs = append(addrs, l2+8*i2)
		}
	}
	words, oks, err := readWords(mem, addrs)
	if err != nil {
		return nil, err
	}
	out := map[uint64]uint64{}
	for i, a := range starts {
		switch {
		case !oks[i]:
			x.Dropped[DropArenaUnreadable]++
		case words[i] != 0:
			out[a] = words[i]
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the arena index at %#x knows none of %d candidate arenas", ErrNoMheap, arenas, len(starts))
	}
	return out, nil
}

// spanTables are the heapArena.spans tables read, per arena start.
type spanTables struct {
	l      *HeapLayout
	tables map[uint64][]byte
}

// listed tells whether the table of the arena holding start names ptr at
// start's page: a span's own entry. Tables keep stale pointers on free
// pages, to mspan structs since reused for spans elsewhere.
func (t spanTables) listed(ptr, start uint64) bool {
	arena := start &^ (t.l.HeapArenaBytes - 1)
	tab, ok := t.tables[arena]
	if !ok {
		return false
	}
	i := 8 * ((start - arena) / t.l.PageSize)
	return i+8 <= uint64(len(tab)) && binary.LittleEndian.Uint64(tab[i:]) == ptr
}

// readSpanTables reads heapArena.spans of each arena and returns the
// tables and the distinct span pointers they hold.
func readSpanTables(mem goroutines.Memory, l *HeapLayout, arenas map[uint64]uint64, x *Index) (spanTables, map[uint64]bool, error) {
	pages := l.HeapArenaBytes / l.PageSize
	var starts, addrs []uint64
	var bufs [][]byte
	for start, ha := range arenas {
		starts = append(starts, start)
		addrs = append(addrs, ha+l.HeapArenaSpans)
		bufs = append(bufs, make([]byte, 8*pages))
	}
	ok := make([]bool, len(bufs))
	if err := mem.ReadBatch(addrs, bufs, ok); err != nil {
		return spanTables{}, nil, err
	}
	t := spanTables{l: l, tables: map[uint64][]byte{}}
	spans := map[uint64]bool{}
	for i, b := range bufs {
		if !ok[i] {
			x.Dropped[DropArenaUnreadable]++
			continue
		}
		t.tables[starts[i]] = b
		for p := uint64(0); p < pages; p++ {
			if s := binary.LittleEndian.Uint64(b[8*p:]); s != 0 {
				spans[s] = true
			}
		}
	}
	return t, spans, nil
}

// readSpans reads each mspan, keeps the in-use ones that validate, and
// reads their allocation bits.
func readSpans(mem goroutines.Memory, l *HeapLayout, tables spanTables, ptrs map[uint64]bool, x *Index) error {
	addrs := make([]uint64, 0, len(ptrs))
	for p := range ptrs {
		addrs = append(addrs, p)
	}
	bufs := make([][]byte, len(addrs))
	for i := range bufs {
		bufs[i] = make([]byte, l.SpanSize)
	}
	ok := make([]bool, len(bufs))
	if err := mem.ReadBatch(addrs, bufs, ok); err != nil {
		return err
	}
	var bitsAt []uint64
	var bits [][]byte
	var owners []int
	for i, b := range bufs {
		if !ok[i] {
			x.Dropped[DropSpanUnreadable]++
			continue
		}
		s, bitsAddr, inUse, valid := decodeSpan(l, b)
		if !inUse || !tables.listed(addrs[i], s.Base) {
			continue // free, manual (stacks), or a stale entry
		}
		if !valid {
			x.Dropped[DropSpanBad]++
			continue
		}
		x.Spans = append(x.Spans, s)
		// Noscan spans too: a leaked object often holds no pointers.
		if s.Nelems > s.FreeIndex {
			owners = append(owners, len(x.Spans)-1)
			bitsAt = append(bitsAt, bitsAddr)
			bits = append(bits, make([]byte, (s.Nelems+7)/8))
		}
	}
	ok = make([]bool, len(bits))
	if err := mem.ReadBatch(bitsAt, bits, ok); err != nil {
		return err
	}
	for k, i := range owners {
		if !ok[k] {
			// Without its bits only the slots below freeindex are known.
			x.Dropped[DropBitsUnreadable]++
			continue
		}
		x.Spans[i].allocBits = bits[k]
	}
	return nil
}

// decodeSpan reads the fields of one mspan; valid says whether they
// describe a plausible in-use span.
func decodeSpan(l *HeapLayout, b []byte) (s Span, allocBits uint64, inUse, valid bool) {
	u64 := func(off uint64) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
	idx := func(off uint64) uint64 {
		if l.IndexBytes == 2 {
			return uint64(binary.LittleEndian.Uint16(b[off:]))
		}
		return u64(off)
	}
	if uint64(b[l.SpanState]) != l.StateInUse {
		return s, 0, false, false
	}
	start, npages := u64(l.SpanStartAddr), u64(l.SpanNpages)
	s = Span{Base: start, Limit: start + npages*l.PageSize, Elemsize: u64(l.SpanElemsize),
		Nelems: idx(l.SpanNelems), FreeIndex: idx(l.SpanFreeIndex), NoScan: b[l.SpanClass]&1 != 0, Large: b[l.SpanClass]>>1 == 0}
	if l.SpanLargeType != 0 && s.Large {
		s.largeType = u64(l.SpanLargeType)
	}
	valid = start%l.PageSize == 0 && npages > 0 && npages <= 1<<30/l.PageSize && s.Limit > s.Base &&
		s.Elemsize > 0 && s.Nelems > 0 && s.Nelems*s.Elemsize <= s.Limit-s.Base && s.FreeIndex <= s.Nelems
	return s, u64(l.SpanAllocBits), true, valid
}

// readWords reads one word at each address.
func readWords(mem goroutines.Memory, addrs []uint64) ([]uint64, []bool, error) {
	bufs := make([][]byte, len(addrs))
	backing := make([]byte, 8*len(addrs))
	for i := range bufs {
		bufs[i] = backing[8*i : 8*i+8]
	}
	ok := make([]bool, len(addrs))
	if err := mem.ReadBatch(addrs, bufs, ok); err != nil {
		return nil, nil, err
	}
	words := make([]uint64, len(addrs))
	for i, b := range bufs {
		words[i] = binary.LittleEndian.Uint64(b)
	}
	return words, ok, nil
}
