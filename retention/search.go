package retention

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/symbolize"
)

// Config bounds one search. Zero fields take the defaults.
type Config struct {
	// MaxDepth caps the heap objects between a root and a leaked object
	// (default 8).
	MaxDepth int
	// Budget caps the time one Search spends scanning (default 2 s): a
	// level of 1 GB of pointer-bearing heap costs a few tenths of a
	// second of CPU. A search cut short says so (Result.Cut).
	Budget time.Duration
	// MaxStackRead caps the bytes of one goroutine stack scanned (default
	// 1 MiB, from its saved sp up).
	MaxStackRead uint64
	// MaxCache: a pointer-bearing heap up to this size (default 256 MiB)
	// is read once per search and kept for the deeper levels; a larger one
	// is read again at each level. Negative: never kept.
	MaxCache int64
}

// Defaults.
const (
	DefaultMaxDepth     = 8
	DefaultBudget       = 2 * time.Second
	DefaultMaxStackRead = 1 << 20
	// chunk is the most of one span read at once when scanning the heap,
	// batchBytes the most read in one batch.
	chunk      = 1 << 20
	batchBytes = 16 << 20
	// maxStacksRead caps the goroutine stack bytes one search reads (a
	// million parked goroutines would otherwise cost gigabytes).
	maxStacksRead = 256 << 20
	// DefaultMaxCache is Config.MaxCache's default.
	DefaultMaxCache = 256 << 20
)

func (c Config) withDefaults() Config {
	if c.MaxDepth <= 0 {
		c.MaxDepth = DefaultMaxDepth
	}
	if c.Budget <= 0 {
		c.Budget = DefaultBudget
	}
	if c.MaxStackRead == 0 {
		c.MaxStackRead = DefaultMaxStackRead
	}
	if c.MaxCache == 0 {
		c.MaxCache = DefaultMaxCache
	}
	return c
}

// Hop kinds.
const (
	KindGlobal = "global" // a variable in the data or bss segment
	KindFrame  = "frame"  // a goroutine's stack frame
	KindHeap   = "heap"   // a heap object
	KindLeaked = "leaked" // the sampled leaked object itself
	// KindTimer: an armed time.AfterFunc timer, in the runtime's timer
	// heap, holding its closure.
	KindTimer = "timer"
	// KindChain, in analysis.RetentionHop only: a run of heap objects of
	// one size (a linked list), summarized.
	KindChain = "chain"
)

// Hop is one holder on a path. Addresses are run-time ones.
type Hop struct {
	Kind string
	// Name: the variable ("main.sessions", or ".bss+0x1a0" when stripped),
	// the frame's function, or the heap object's type where the runtime
	// records it ("main.session", "[]*main.item": see objtype.go), else
	// its sampled allocation site, else its size ("object of 48 B").
	Name string
	// Type is the heap object's type as the runtime records it ("" when
	// it does not).
	Type string
	Addr uint64 // the holder's start (variable, frame's function entry, slot)
	Size uint64 // of the heap object
	// Field is where in the holder the pointer to the next hop sits
	// (offset in bytes).
	Field uint64
	// Frame holders: the goroutine, its source position and creation site.
	Goroutine uint64
	File      string
	Line      int
	CreatedBy string
	// Precise: the frame's stack maps say the word is a live pointer
	// (else it was found by scanning the frame conservatively).
	Precise bool
	// Timer holders: how long until it fires (negative: overdue; 0:
	// unknown). File and Line are the closure's.
	FiresIn    time.Duration
	at         uint64 // address of the pointer word, re-read to confirm
	when       int64  // timer holders: the runtime's when (nanotime)
	fv         uint64 // timer holders: the func value it calls
	next, size uint64 // the slot it points into
}

// Path is what retains one leaked object, root first, the object last.
type Path struct {
	Target uint64 // the sampled address
	Hops   []Hop  // nil when no root was found
	// RootMoved: on the re-read the root pointed at another object of
	// the same size (a list's head moved on), the rest of the chain was
	// unchanged.
	RootMoved bool
	// Why explains a missing path ("not in the heap index", "no holder
	// within depth 8", "search cut by its budget", "changed under the
	// read").
	Why string
}

// Root is the first hop's name, "" without a path.
func (p Path) Root() string {
	if len(p.Hops) == 0 {
		return ""
	}
	return p.Hops[0].Name
}

// Result is one search.
type Result struct {
	Paths    []Path
	Cut      bool // the budget ran out before every target had a root
	Depth    int  // levels searched
	Duration time.Duration
	// ScannedBytes is the heap, data and stack memory scanned.
	ScannedBytes uint64
	// Dropped counts what was not read or not believed, by reason
	// (Index's Drop* names and the Lost* names).
	Dropped map[string]int
	Spans   int // in-use spans indexed
	// Conservative counts the frames with no stack map, scanned whole.
	Conservative int
}

// Reasons counted in Result.Dropped while searching.
const (
	LostHeapRead    = "heap_read_failed"
	LostRootRead    = "root_read_failed"
	LostStackRead   = "stack_read_failed"
	LostRunning     = "running_goroutine_not_scanned"
	LostStacksCap   = "stack_over_total_cap" // beyond maxStacksRead
	LostUnconfirmed = "path_changed_on_reread"
	LostInternal    = "runtime_internal_holder"
	// LostDeadSlot: a frame word pointing at a searched object that the
	// frame's stack maps say is not live (a dead slot is no holder).
	LostDeadSlot = "dead_frame_slot"
)

// Searcher finds retention paths in one process. Not safe for concurrent
// use.
type Searcher struct {
	exe     Executable
	mem     goroutines.Memory
	pid     int
	bias    uint64
	layout  *HeapLayout
	arenas  Arenas
	gr      *goroutines.Reader // nil: no goroutine roots
	syms    []gobin.DataSymbol
	cfg     Config
	readMap func() ([]symbolize.Mapping, error)
	sampled []sampledSite   // SetSampled, by address
	goFuncs map[uint64]bool // func values read: time.goFunc's or not
}

// NewSearcher locates the heap of process pid (executable exe loaded at
// bias, memory mem) and verifies it by indexing it once. gr, if not nil,
// gives the goroutine stacks to search as roots. The error wraps
// ErrUnknownLayout, ErrNoMheap or goroutines.ErrGone.
func NewSearcher(exe Executable, mem goroutines.Memory, pid int, bias uint64, gr *goroutines.Reader, cfg Config) (*Searcher, error) {
	l, err := LayoutFor(exe.GoVersion(), exe.Arch())
	if err != nil {
		return nil, err
	}
	a, err := LocateArenas(exe, l)
	if err != nil {
		return nil, err
	}
	s := &Searcher{exe: exe, mem: mem, pid: pid, bias: bias, layout: l, arenas: a, gr: gr,
		syms: sized(exe.DataSymbols()), cfg: cfg.withDefaults(), goFuncs: map[uint64]bool{}}
	s.readMap = func() ([]symbolize.Mapping, error) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, goroutines.ErrGone
			}
			return nil, err
		}
		return symbolize.ParseMaps(bytes.NewReader(b))
	}
	x, err := s.index()
	if err != nil {
		return nil, err
	}
	if len(x.Spans) == 0 {
		return nil, fmt.Errorf("%w: no in-use span in %d arenas (%s layout): %v", ErrNoMheap, x.Arenas, l.Release, x.Dropped)
	}
	return s, nil
}

// Arenas says where the arena index was found.
func (s *Searcher) Arenas() Arenas { return s.arenas }

func (s *Searcher) index() (*Index, error) {
	maps, err := s.readMap()
	if err != nil {
		return nil, err
	}
	return BuildIndex(s.mem, s.layout, s.arenas.Addr+s.bias, maps)
}

// edge is one pointer to a slot: from a heap slot or a root.
type edge struct {
	hop    Hop    // the holder (Field set); Kind says heap or a root
	holder uint64 // heap holder's slot, 0 for roots
}

// search is the state of one Search.
type search struct {
	*Searcher
	x        *Index
	res      *Result
	deadline time.Time
	heldBy   map[uint64][]edge // slot -> who points into it
	roots    []rootArea
	cache    map[uint64][]byte // heap pieces by address, when kept
	forward  *marks            // the forward mark, when the heap is kept
	types    map[uint64]typeInfo
}

// maxEdges caps the holders kept per slot: a widely shared object needs
// only a few to name one path.
const maxEdges = 4

// Search finds, for each target address (a sampled leaked object), the
// shortest chain of holders from a root. Nothing stops the target: each
// level reads the heap again, and the final paths are re-read to confirm.
func (s *Searcher) Search(targets []uint64) (*Result, error) {
	start := time.Now()
	res := &Result{Dropped: map[string]int{}}
	st := &search{Searcher: s, res: res, deadline: start.Add(s.cfg.Budget), heldBy: map[uint64][]edge{}, types: map[uint64]typeInfo{}}
	// The roots before the index: every object they point at was
	// allocated before the index was read, so the index knows it (the
	// other way round, a global's newest object is missed).
	var err error
	if st.roots, err = st.readRoots(); err != nil {
		return nil, err
	}
	if st.x, err = s.index(); err != nil {
		return nil, err
	}
	x := st.x
	for k, v := range x.Dropped {
		res.Dropped[k] += v
	}
	res.Spans = len(x.Spans)
	if int64(x.ScanBytes()) <= s.cfg.MaxCache {
		st.cache = map[uint64][]byte{}
	}
	slots := map[uint64]uint64{} // target -> its slot
	level := map[uint64]uint64{} // slots searched for at this level -> size
	for _, t := range targets {
		if sp, base, ok := x.Lookup(t); ok {
			slots[t] = base
			level[base] = sp.Elemsize
		}
	}
	if st.cache != nil {
		// The heap fits: one forward mark from the roots finds paths of
		// any length.
		if err := st.mark(slots); err != nil {
			return nil, err
		}
		level = nil
	}
	visited := map[uint64]bool{}
	for d := 0; d < s.cfg.MaxDepth && len(level) > 0; d++ {
		if time.Now().After(st.deadline) {
			res.Cut = true
			break
		}
		res.Depth = d + 1
		for k := range level {
			visited[k] = true
		}
		st.scanRoots(level)
		next, err := st.scanHeap(level, visited)
		if err != nil {
			return nil, err
		}
		if st.allRooted(slots) {
			break
		}
		level = next
	}
	if res.Cut && st.allRooted(slots) {
		res.Cut = false // the budget ran out only after the last root was found
	}
	for _, t := range targets {
		res.Paths = append(res.Paths, st.path(t, slots))
	}
	res.Duration = time.Since(start)
	return res, nil
}

// rootArea is a root's memory as read: a data/bss segment or the live
// part of a goroutine stack.
type rootArea struct {
	kind   string
	addr   uint64
	mem    []byte
	frames []frame // stacks only
	g      *goroutines.G
}

// frame is one stack frame: [lo, hi) and the pc it runs at, and the
// garbage collector's maps of it there (nil: scanned conservatively).
type frame struct {
	lo, hi, pc uint64
	maps       *gobin.FrameMap
	// objects are the frame's stack objects a live pointer of the stack
	// reaches (liveObjects): the garbage collector scans only those.
	objects []gobin.StackObject
}

// frameOf is the frame whose pointer the word at addr is: from the frames'
// stack maps where they have them (precise; amd64, frame pointers: varp
// is the saved frame pointer's slot, hi-16, and argp the caller's sp, hi),
// else by position (conservative). -1: no frame, or the maps say the word
// holds no live pointer (a dead slot).
func (a *rootArea) frameOf(addr uint64) (int, bool) {
	inObject := func(base uint64, o gobin.StackObject) bool {
		lo := uint64(int64(base) + int64(o.Off))
		return addr >= lo && addr < lo+uint64(o.Size)
	}
	// A frame's arguments and their stack objects lie in its caller's area.
	for i, f := range a.frames {
		if m := f.maps; m != nil {
			if argp := f.hi; addr >= argp && addr < argp+8*uint64(m.ArgWords) && m.ArgPointer(int((addr-argp)/8)) {
				return i, true
			}
			for _, o := range f.objects {
				if o.Off >= 0 && inObject(f.hi, o) {
					return i, true
				}
			}
		}
	}
	for i, f := range a.frames {
		if addr < f.lo || addr >= f.hi {
			continue
		}
		m := f.maps
		if m == nil {
			return i, false
		}
		varp := f.hi - 16
		if lo := varp - 8*uint64(m.LocalWords); addr >= lo && addr < varp && m.LocalPointer(int((addr-lo)/8)) {
			return i, true
		}
		for _, o := range f.objects {
			if o.Off < 0 && inObject(varp, o) {
				return i, true
			}
		}
		return -1, true
	}
	return -1, false
}

// readRoots reads .data, .bss and the live stacks of waiting goroutines.
func (st *search) readRoots() ([]rootArea, error) {
	var areas []rootArea
	for _, sec := range []string{".data", ".bss"} {
		if a, n, ok := st.exe.Section(sec); ok && n > 0 {
			areas = append(areas, rootArea{kind: KindGlobal, addr: a + st.bias, mem: make([]byte, n)})
		}
	}
	if st.gr != nil {
		snap, err := st.gr.Read()
		if err != nil {
			return nil, err
		}
		var total uint64
		for i := range snap.Goroutines {
			g := &snap.Goroutines[i]
			pc, sp, bp := g.Saved()
			if sp == 0 || sp < g.StackLo || sp >= g.StackHi {
				st.res.Dropped[LostRunning]++
				continue
			}
			n := min(g.StackHi-sp, st.cfg.MaxStackRead)
			if total += n; total > maxStacksRead {
				st.res.Dropped[LostStacksCap]++
				continue
			}
			areas = append(areas, rootArea{kind: KindFrame, addr: sp, mem: make([]byte, n), g: g,
				frames: []frame{{lo: sp, hi: bp + 16, pc: pc}}})
		}
	}
	addrs := make([]uint64, len(areas))
	bufs := make([][]byte, len(areas))
	for i, a := range areas {
		addrs[i], bufs[i] = a.addr, a.mem
	}
	ok := make([]bool, len(areas))
	if err := st.mem.ReadBatch(addrs, bufs, ok); err != nil {
		return nil, err
	}
	out := areas[:0]
	for i, a := range areas {
		if !ok[i] {
			if a.kind == KindGlobal {
				st.res.Dropped[LostRootRead]++
			} else {
				st.res.Dropped[LostStackRead]++
			}
			continue
		}
		if a.kind == KindFrame {
			a.frames = walk(a.frames[0], a.addr, a.mem)
			st.frameMaps(a.frames)
			a.liveObjects()
		}
		st.res.ScannedBytes += uint64(len(a.mem))
		out = append(out, a)
	}
	return out, nil
}

// frameMaps looks up each frame's stack maps (amd64 only: frameOf knows
// its frame layout); a frame without them is scanned conservatively.
func (st *search) frameMaps(frames []frame) {
	if st.exe.Arch() != "amd64" {
		return
	}
	for i := range frames {
		m, err := st.exe.FrameMap(frames[i].pc - st.bias)
		if err != nil {
			st.res.Conservative++
			continue
		}
		frames[i].maps = &m
	}
}

// liveObjects keeps, per frame, the stack objects that a live pointer of
// the stack reaches, as the garbage collector does: the live pointer
// words of every frame (every word of a frame without maps) and of the
// objects found so far are followed to objects in this stack. A stack
// object nothing live points at (an argument array of a call done long
// ago) is dead, however it looks.
func (a *rootArea) liveObjects() {
	type object struct {
		frame  int
		o      gobin.StackObject
		lo, hi uint64
	}
	var objs []object
	for i, f := range a.frames {
		if f.maps == nil {
			continue
		}
		for _, o := range f.maps.Objects {
			base := f.hi - 16 // varp
			if o.Off >= 0 {
				base = f.hi // argp
			}
			lo := uint64(int64(base) + int64(o.Off))
			objs = append(objs, object{i, o, lo, lo + uint64(o.Size)})
		}
	}
	if len(objs) == 0 {
		return
	}
	end := a.addr + uint64(len(a.mem))
	live := make([]bool, len(objs))
	var queue []int
	follow := func(at uint64) {
		if at < a.addr || at+8 > end {
			return
		}
		w := binary.LittleEndian.Uint64(a.mem[at-a.addr:])
		for k, ob := range objs {
			if !live[k] && w >= ob.lo && w < ob.hi {
				live[k] = true
				queue = append(queue, k)
			}
		}
	}
	for _, f := range a.frames {
		m := f.maps
		if m == nil {
			for at := f.lo; at < f.hi; at += 8 {
				follow(at)
			}
			continue
		}
		for i := 0; i < m.ArgWords; i++ {
			if m.ArgPointer(i) {
				follow(f.hi + uint64(i)*8)
			}
		}
		varp := f.hi - 16
		for i := 0; i < m.LocalWords; i++ {
			if m.LocalPointer(i) {
				follow(varp - uint64(m.LocalWords-i)*8)
			}
		}
	}
	for len(queue) > 0 {
		ob := objs[queue[0]]
		queue = queue[1:]
		for at := ob.lo; at < ob.hi; at += 8 {
			follow(at)
		}
	}
	for k, ob := range objs {
		if live[k] {
			a.frames[ob.frame].objects = append(a.frames[ob.frame].objects, ob.o)
		}
	}
}

// walk splits a stack copy (from base) into frames by the frame-pointer
// chain: a frame's pointer record is its saved caller bp at fp and the
// return address at fp+8; the caller's frame starts above it.
func walk(top frame, base uint64, mem []byte) []frame {
	frames := []frame{top}
	fp := top.hi - 16
	for len(frames) < 256 && fp >= base && fp-base+16 <= uint64(len(mem)) {
		next := binary.LittleEndian.Uint64(mem[fp-base:])
		ret := binary.LittleEndian.Uint64(mem[fp-base+8:])
		if ret == 0 {
			break
		}
		hi := base + uint64(len(mem))
		if next > fp {
			hi = next + 16
		}
		frames = append(frames, frame{lo: fp + 16, hi: hi, pc: ret - 1})
		if next <= fp {
			break
		}
		fp = next
	}
	return frames
}

// scanRoots records every root word pointing into a slot of level.
func (st *search) scanRoots(level map[uint64]uint64) {
	for i := range st.roots {
		a := &st.roots[i]
		for off := 0; off+8 <= len(a.mem); off += 8 {
			w := binary.LittleEndian.Uint64(a.mem[off:])
			slot, ok := st.inLevel(w, level)
			if !ok {
				continue
			}
			if h, ok := st.nameRoot(a, a.addr+uint64(off)); ok {
				h.at, h.next, h.size = a.addr+uint64(off), slot, level[slot]
				st.addEdge(slot, edge{hop: h})
			}
		}
	}
}

// inLevel returns the slot of level that w points into.
func (st *search) inLevel(w uint64, level map[uint64]uint64) (uint64, bool) {
	if w < 4096 {
		return 0, false
	}
	_, slot, ok := st.x.Lookup(w)
	if !ok {
		return 0, false
	}
	_, in := level[slot]
	return slot, in
}

func (st *search) addEdge(slot uint64, e edge) {
	if len(st.heldBy[slot]) < maxEdges {
		st.heldBy[slot] = append(st.heldBy[slot], e)
	}
}

// scanHeap reads every allocated slot of the pointer-bearing spans and
// records the words pointing into a slot of level; it returns the
// holders not yet visited: the next level.
func (st *search) scanHeap(level map[uint64]uint64, visited map[uint64]bool) (map[uint64]uint64, error) {
	next := map[uint64]uint64{}
	pages := newPageSet(st.layout, level)
	type piece struct {
		s    *Span
		addr uint64
	}
	var pieces []piece
	var addrs []uint64
	var bufs [][]byte
	var backing []byte // reused batch to batch when nothing is kept
	used := 0
	flush := func() error {
		ok := make([]bool, len(bufs))
		if err := st.mem.ReadBatch(addrs, bufs, ok); err != nil {
			return err
		}
		for i, p := range pieces {
			if !ok[i] {
				st.res.Dropped[LostHeapRead]++
				continue
			}
			if st.cache != nil {
				st.cache[p.addr] = bufs[i]
			}
			st.res.ScannedBytes += uint64(len(bufs[i]))
			st.scanPiece(p.s, p.addr, bufs[i], level, pages, visited, next)
		}
		pieces, addrs, bufs, used = pieces[:0], addrs[:0], bufs[:0], 0
		return nil
	}
	for i := range st.x.Spans {
		s := &st.x.Spans[i]
		if s.NoScan {
			continue
		}
		end := s.Base + s.Nelems*s.Elemsize
		for a := s.Base; a < end; a += chunk {
			if b, ok := st.cache[a]; ok {
				st.res.ScannedBytes += uint64(len(b))
				st.scanPiece(s, a, b, level, pages, visited, next)
				continue
			}
			n := int(min(chunk, end-a))
			var b []byte
			if st.cache != nil {
				b = make([]byte, n)
			} else {
				if backing == nil {
					backing = make([]byte, batchBytes)
				}
				b = backing[used : used+n]
				used += n
			}
			pieces = append(pieces, piece{s, a})
			addrs = append(addrs, a)
			bufs = append(bufs, b)
			if len(bufs) == 1024 || used+chunk > batchBytes {
				if err := flush(); err != nil {
					return nil, err
				}
				if time.Now().After(st.deadline) {
					st.res.Cut = true
					return next, nil
				}
			}
		}
	}
	return next, flush()
}

// pageSet is the set of heap pages holding a level's slots: one bit per
// page, per arena, with the last arena looked at cached (pointers cluster).
// It keeps the per-word test of the heap scan to a few instructions for
// the words that point nowhere near a slot searched for.
type pageSet struct {
	pageSize, arenaBytes uint64
	arenas               map[uint64][]uint64
	lastArena            uint64
	last                 []uint64
}

func newPageSet(l *HeapLayout, level map[uint64]uint64) *pageSet {
	ps := &pageSet{pageSize: l.PageSize, arenaBytes: l.HeapArenaBytes, arenas: map[uint64][]uint64{}, lastArena: 1}
	words := (l.HeapArenaBytes/l.PageSize + 63) / 64
	for slot, size := range level {
		for p := slot &^ (l.PageSize - 1); p < slot+max(size, 1); p += l.PageSize {
			a := p &^ (l.HeapArenaBytes - 1)
			bits := ps.arenas[a]
			if bits == nil {
				bits = make([]uint64, words)
				ps.arenas[a] = bits
			}
			i := (p - a) / l.PageSize
			bits[i/64] |= 1 << (i % 64)
		}
	}
	return ps
}

// has tells whether w points into a page of the set.
func (ps *pageSet) has(w uint64) bool {
	if w < 4096 { // nil and small integers: the commonest words
		return false
	}
	a := w &^ (ps.arenaBytes - 1)
	if a != ps.lastArena {
		ps.lastArena, ps.last = a, ps.arenas[a]
	}
	if ps.last == nil {
		return false
	}
	i := (w - a) / ps.pageSize
	return ps.last[i/64]&(1<<(i%64)) != 0
}

// scanPiece scans the allocated slots of span s within buf (read at addr).
func (st *search) scanPiece(s *Span, addr uint64, buf []byte, level map[uint64]uint64, pages *pageSet, visited map[uint64]bool, next map[uint64]uint64) {
	for off := uint64(0); off+8 <= uint64(len(buf)); off += 8 {
		w := binary.LittleEndian.Uint64(buf[off:])
		if !pages.has(w) {
			continue
		}
		at := addr + off
		slot := (at - s.Base) / s.Elemsize
		if !s.Allocated(slot) {
			continue
		}
		target, ok := st.inLevel(w, level)
		holder := s.Base + slot*s.Elemsize
		if !ok || target == holder || st.toP(s, holder, at, w) {
			continue
		}
		if holder >= addr && holder+s.Elemsize <= addr+uint64(len(buf)) {
			if h, ok := st.timerRoot(holder, buf[holder-addr:holder-addr+s.Elemsize]); ok && h.at == at {
				h.next, h.size = target, level[target]
				st.addEdge(target, edge{hop: h})
				continue
			}
		}
		if st.runtimeHolder(s, holder, func() (uint64, bool) {
			if holder >= addr && holder+8 <= addr+uint64(len(buf)) {
				return binary.LittleEndian.Uint64(buf[holder-addr:]), true
			}
			return st.cachedWord(s, holder)
		}) {
			st.res.Dropped[LostInternal]++
			continue
		}
		st.addEdge(target, edge{hop: Hop{Kind: KindHeap, Addr: holder, Size: s.Elemsize, Field: at - holder,
			Name: fmt.Sprintf("object of %d B", s.Elemsize), at: at, next: target, size: level[target]}, holder: holder})
		if !visited[holder] {
			next[holder] = s.Elemsize
		}
	}
}

// allRooted: every target's slot reaches a root through the edges so far.
func (st *search) allRooted(slots map[uint64]uint64) bool {
	for _, slot := range slots {
		if st.shortest(slot) == nil {
			return false
		}
	}
	return true
}

// shortest is the chain of edges from slot's nearest root, root first
// (breadth first over the holders found).
func (st *search) shortest(slot uint64) []edge {
	if st.forward != nil {
		return st.forward.chain(slot)
	}
	type step struct {
		slot uint64
		via  []edge // holder edges from slot outward, innermost first
	}
	seen := map[uint64]bool{slot: true}
	queue := []step{{slot: slot}}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, e := range st.heldBy[cur.slot] {
			if e.holder == 0 {
				chain := append(append([]edge{}, cur.via...), e)
				for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
					chain[i], chain[j] = chain[j], chain[i]
				}
				return chain
			}
		}
		for _, e := range st.heldBy[cur.slot] {
			if e.holder != 0 && !seen[e.holder] {
				seen[e.holder] = true
				queue = append(queue, step{slot: e.holder, via: append(append([]edge{}, cur.via...), e)})
			}
		}
	}
	return nil
}

// path names and confirms the path of one target.
func (st *search) path(t uint64, slots map[uint64]uint64) Path {
	p := Path{Target: t}
	slot, ok := slots[t]
	if !ok {
		p.Why = "not an allocated object of the heap index"
		return p
	}
	chain := st.shortest(slot)
	if chain == nil {
		switch {
		case st.res.Cut:
			p.Why = "search cut by its budget"
		case st.forward != nil:
			p.Why = "not reachable from a global or a goroutine frame (held by the runtime, or garbage not yet swept)"
		default:
			p.Why = fmt.Sprintf("no holder within depth %d", st.res.Depth)
		}
		return p
	}
	chain = st.cutAtTimer(chain)
	ok, moved := st.confirm(chain)
	if !ok {
		st.res.Dropped[LostUnconfirmed]++
		p.Why = "changed under the read"
		return p
	}
	p.RootMoved = moved
	if chain[0].hop.Kind == KindTimer {
		st.nameTimer(&chain[0].hop)
	}
	for _, e := range chain {
		p.Hops = append(p.Hops, e.hop)
	}
	sp, _, _ := st.x.Lookup(t)
	p.Hops = st.nameChannels(p.Hops)
	p.Hops = append(p.Hops, Hop{Kind: KindLeaked, Name: fmt.Sprintf("object of %d B", sp.Elemsize), Addr: slot, Size: sp.Elemsize})
	st.nameHops(p.Hops)
	p.Hops = st.layout.collapseMaps(p.Hops)
	return p
}

// confirm re-reads every pointer of the chain: each must still point
// into the slot it pointed into.
func (st *search) confirm(chain []edge) (ok, rootMoved bool) {
	addrs := make([]uint64, len(chain))
	for i, e := range chain {
		addrs[i] = e.hop.at
	}
	words, read, err := readWords(st.mem, addrs)
	if err != nil {
		return false, false
	}
	for i, e := range chain {
		if read[i] && words[i] >= e.hop.next && words[i] < e.hop.next+e.hop.size {
			continue
		}
		// The head of a list or the latest value of a variable moves on
		// while the rest of the chain stays: the root still holds an
		// object of the same size, and the chain below it re-reads the
		// same.
		if i == 0 && read[0] && len(chain) > 1 {
			// (An object allocated since the index was read may lie in
			// a span the index does not know yet: then a heap arena's
			// address is all that is checked.)
			sp := st.x.spanOf(words[0])
			if sp != nil && sp.Elemsize == e.hop.size || sp == nil && st.x.inArena(words[0]) {
				rootMoved = true
				continue
			}
		}
		return false, false
	}
	return true, rootMoved
}

// nameRoot names the root holding the word at addr, and says false for
// runtime-internal holders (the scheduler's structures, the heap's own
// tables, GC work): they keep nothing a user can release.
func (st *search) nameRoot(a *rootArea, addr uint64) (Hop, bool) {
	if a.kind == KindGlobal {
		return st.nameGlobal(addr)
	}
	fi, precise := a.frameOf(addr)
	if fi < 0 {
		if precise {
			st.res.Dropped[LostDeadSlot]++
		}
		return Hop{}, false // a dead slot, below the innermost frame or past the chain
	}
	f := a.frames[fi]
	// The innermost logical function at the frame's pc: a function
	// inlined into the go statement's wrapper is named, not the wrapper.
	_, entry, ok := st.exe.FuncAt(f.pc - st.bias)
	name, file, line := st.exe.Position(f.pc - st.bias)
	if !ok || name == "" || internal(name) {
		st.res.Dropped[LostInternal]++
		return Hop{}, false
	}
	h := Hop{Kind: KindFrame, Name: name, Addr: entry + st.bias, Field: addr - f.lo, Goroutine: a.g.ID, File: file, Line: line, Precise: precise}
	if cname, cfile, cline := st.exe.Position(a.g.GoPC - 1 - st.bias); cname != "" {
		h.CreatedBy = fmt.Sprintf("%s at %s:%d", cname, cfile, cline)
	}
	return h, true
}

func (st *search) nameGlobal(addr uint64) (Hop, bool) {
	link := addr - st.bias
	i := sort.Search(len(st.syms), func(i int) bool { return st.syms[i].Addr > link }) - 1
	if i >= 0 && link < st.syms[i].Addr+st.syms[i].Size {
		s := st.syms[i]
		if internal(s.Name) {
			st.res.Dropped[LostInternal]++
			return Hop{}, false
		}
		return Hop{Kind: KindGlobal, Name: s.Name, Addr: s.Addr + st.bias, Field: link - s.Addr}, true
	}
	// Stripped: the segment and offset.
	sec := st.exe.SectionName(link)
	start, _, _ := st.exe.Section(sec)
	return Hop{Kind: KindGlobal, Name: fmt.Sprintf("%s+%#x", sec, link-start), Addr: addr}, true
}

// internal tells the runtime's own holders by name.
func internal(name string) bool {
	return strings.HasPrefix(name, "runtime.") || strings.HasPrefix(name, "internal/") ||
		strings.HasPrefix(name, "go:") || strings.HasPrefix(name, "type:") || name == "runtime"
}

// sized drops the zero-size markers (runtime.bss, runtime.edata...) that
// share their address with a real variable.
func sized(syms []gobin.DataSymbol) []gobin.DataSymbol {
	out := syms[:0:0]
	for _, s := range syms {
		if s.Size > 0 {
			out = append(out, s)
		}
	}
	return out
}
