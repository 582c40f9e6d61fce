package goroutines

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Config bounds the work of one Read. Zero fields take the defaults.
type Config struct {
	// MaxGoroutines caps the g structs read per Read (default 200,000);
	// the rest are counted in Snapshot.Skipped.
	MaxGoroutines int
	// MaxDepth caps the frames unwound per waiting goroutine (default 32).
	MaxDepth int
	// MaxStackRead caps the bytes of one goroutine's stack read to unwind
	// it (default 8 KiB): the frames of interest are at its top.
	MaxStackRead int
}

// Defaults.
const (
	DefaultMaxGoroutines = 200_000
	DefaultMaxDepth      = 32
	DefaultMaxStackRead  = 8 << 10
	// maxAllgs is the length beyond which allgs is not believed.
	maxAllgs = 1 << 26
	// maxGoid: goids are handed out in batches of 16 per P from 1; a
	// process would need centuries to pass 2^48.
	maxGoid = 1 << 48
	// maxStackSize: the runtime's default max stack is 1 GB on 64-bit.
	maxStackSize = 1 << 30
)

func (c Config) withDefaults() Config {
	if c.MaxGoroutines <= 0 {
		c.MaxGoroutines = DefaultMaxGoroutines
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = DefaultMaxDepth
	}
	if c.MaxStackRead <= 0 {
		c.MaxStackRead = DefaultMaxStackRead
	}
	return c
}

// G is one live goroutine as read. Addresses are run-time ones.
type G struct {
	ID         uint64
	Status     uint32 // without the _Gscan bit
	WaitReason uint8
	GoPC       uint64 // return address of the `go` statement's call to newproc
	StartPC    uint64 // entry of the goroutine's function
	StackLo    uint64
	StackHi    uint64
	// Stack is, for a waiting goroutine, where it resumes (sched.pc) then
	// the return addresses of its callers, innermost first; nil for the
	// others. Goroutines stopped at the same place share one Stack: do not
	// modify it.
	Stack []uint64

	waiting bool      // its stack is to be unwound
	sched   [3]uint64 // saved pc, sp, bp
	slot    int32     // its entry in Reader.known, during Read
}

// Saved is, for a waiting goroutine, the pc, sp and bp it will resume
// from (zero for the others): its live frames lie in [sp, StackHi).
// retention/ scans them for pointers.
func (g *G) Saved() (pc, sp, bp uint64) { return g.sched[0], g.sched[1], g.sched[2] }

// StackBytes is the size of the goroutine's stack.
func (g *G) StackBytes() uint64 { return g.StackHi - g.StackLo }

// Snapshot is the goroutines of a process at one moment.
type Snapshot struct {
	Time       time.Time
	AllGLen    int // g structs the runtime has ever allocated (allglen)
	Dead       int // of them, free for reuse (_Gdead) or just allocated
	Skipped    int // not read: beyond Config.MaxGoroutines
	Goroutines []G // live, validated
	// Dropped counts g structs read but not believed, by reason (see
	// validate); Truncated counts stacks whose unwinding stopped early,
	// by reason.
	Dropped   map[string]int
	Truncated map[string]int
	// StacksReused counts stacks not read again: their goroutine had not
	// run since the previous Read.
	StacksReused int
}

// Reasons a g or a stack is dropped, counted in Snapshot.Dropped and
// Snapshot.Truncated.
const (
	DropUnreadable = "unreadable" // the g could not be read (freed, unmapped)
	DropStatus     = "bad_status" // atomicstatus is no known state
	DropGoid       = "bad_goid"   // goid zero or implausibly large
	DropDuplicate  = "duplicate_goid"
	DropGoPC       = "bad_gopc"    // gopc outside the text
	DropStartPC    = "bad_startpc" // startpc not at a function's entry
	DropStack      = "bad_stack"   // stack bounds inverted or implausible
	TruncUnread    = "stack_unreadable"
	TruncDepth     = "max_depth"
	TruncOutside   = "frame_outside_read"
)

// Reader reads one process's goroutines. Not safe for concurrent use.
type Reader struct {
	exe    Executable
	mem    Memory
	layout *Layout
	bias   uint64 // run-time minus link-time address (PIE)
	roots  Roots
	cfg    Config
	textLo uint64 // run-time
	textHi uint64
	entry  map[uint64]bool // run-time startpc -> is a function entry
	// lastEntry is the last startpc found at an entry: goroutines side by
	// side mostly share their start function.
	lastEntry uint64
	// What the reader remembers of each goroutine from read to read (see
	// remember), and the unwound stacks, one copy per distinct stack.
	epoch  uint32
	byGoid goidIndex
	known  []knownG
	stacks map[string][]uint64
	// Buffers reused from read to read.
	gs       []G // the last snapshot's Goroutines
	ptrBuf   []byte
	ptrs     []uint64
	runBuf   []byte
	stackBuf []byte
}

// ErrUnverified means the target's goroutine list or g layout could not
// be confirmed: the goroutine part stays off for that target.
var ErrUnverified = errors.New("goroutine list not verified")

// NewReader finds the goroutine list of the process behind mem, whose
// executable is exe loaded at bias, and verifies the layout on a first
// read. The error wraps ErrUnknownLayout, ErrNoRoots, ErrUnverified or
// ErrGone.
func NewReader(exe Executable, mem Memory, bias uint64, cfg Config) (*Reader, error) {
	layout, err := LayoutFor(exe.GoVersion(), exe.Arch())
	if err != nil {
		return nil, err
	}
	lo, hi, ok := exe.TextRange()
	if !ok {
		return nil, fmt.Errorf("%w: the binary has no .text", ErrUnverified)
	}
	r := &Reader{exe: exe, mem: mem, layout: layout, bias: bias, cfg: cfg.withDefaults(),
		textLo: lo + bias, textHi: hi + bias, entry: map[uint64]bool{},
		stacks: map[string][]uint64{}}
	cands, err := CandidateRoots(exe)
	if err != nil {
		return nil, err
	}
	var whyNot []error
	for _, c := range cands {
		r.roots = c
		s, err := r.Read()
		if errors.Is(err, ErrGone) {
			return nil, err
		}
		if err == nil {
			err = r.verify(s)
		}
		if err == nil {
			return r, nil
		}
		whyNot = append(whyNot, fmt.Errorf("allgs %#x allglen %#x: %w", c.Allgs, c.Allglen, err))
	}
	return nil, fmt.Errorf("%w (%s layout of %s/%s): %w", ErrUnverified, layout.Release, exe.GoVersion(), exe.Arch(), errors.Join(whyNot...))
}

// Roots is where the goroutine list was found.
func (r *Reader) Roots() Roots { return r.roots }

// Layout is the g layout in use.
func (r *Reader) Layout() *Layout { return r.layout }

// verify accepts a first read only if the layout explains it: some live
// goroutines (at least main's), and nearly all g structs read validate.
// A wrong layout reads garbage that fails the status, goid and pc checks.
func (r *Reader) verify(s *Snapshot) error {
	bad := 0
	for k, n := range s.Dropped {
		if k != DropUnreadable {
			bad += n
		}
	}
	live := len(s.Goroutines)
	if live == 0 {
		return fmt.Errorf("no live goroutine among %d g structs (%d dropped: %v)", s.AllGLen, bad, s.Dropped)
	}
	if bad*10 > live+bad {
		return fmt.Errorf("%d of %d g structs do not validate: %v", bad, live+bad, s.Dropped)
	}
	return nil
}

// Read takes a snapshot: the allgs header, then the g structs in batches,
// then the stacks of the waiting ones. The snapshot's Goroutines are valid
// until the next Read, which reuses their memory (a million goroutines
// are 100 MB, not to be allocated again every interval): copy what is to
// be kept longer.
func (r *Reader) Read() (*Snapshot, error) {
	s := &Snapshot{Time: time.Now(), Dropped: map[string]int{}, Truncated: map[string]int{}}
	ptrs, err := r.readAllgs(s)
	if err != nil {
		return nil, err
	}
	if err := r.readGs(s, ptrs); err != nil {
		return nil, err
	}
	if err := r.unwindWaiting(s); err != nil {
		return nil, err
	}
	r.forget(len(s.Goroutines))
	return s, nil
}

// readAllgs reads the slice of g pointers, retrying a header caught between
// allgadd's two writes.
func (r *Reader) readAllgs(s *Snapshot) ([]uint64, error) {
	var h allgsHeader
	var err error
	for try := 0; try < 3; try++ {
		if h, err = readRoots(r.mem, r.roots, r.bias); err != nil {
			return nil, err
		}
		if err = h.plausible(maxAllgs); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	s.AllGLen = int(h.len)
	n := min(int(h.len), r.cfg.MaxGoroutines)
	s.Skipped = int(h.len) - n
	r.ptrBuf = reuse(r.ptrBuf, 8*n)
	buf := r.ptrBuf
	ok := []bool{false}
	if err := r.mem.ReadBatch([]uint64{h.ptr}, [][]byte{buf}, ok); err != nil {
		return nil, err
	}
	if !ok[0] {
		return nil, fmt.Errorf("%w: cannot read %d g pointers at %#x", ErrUnverified, n, h.ptr)
	}
	r.ptrs = reuse(r.ptrs, n)
	ptrs := r.ptrs
	for i := range ptrs {
		ptrs[i] = binary.LittleEndian.Uint64(buf[8*i:])
	}
	return ptrs, nil
}

// readGs reads the leading span of each g that holds every field wanted,
// in address order and coalesced into few large reads (see readRuns), and
// keeps those that validate.
func (r *Reader) readGs(s *Snapshot, ptrs []uint64) error {
	r.epoch++
	r.byGoid.reserve(len(ptrs))
	if cap(r.known) < len(ptrs) {
		r.known = slices.Grow(r.known, len(ptrs)+len(ptrs)/8-len(r.known))
	}
	s.Goroutines = reuse(r.gs, len(ptrs))[:0]
	defer func() {
		// Entries beyond this read's keep no stale stack alive.
		clear(s.Goroutines[len(s.Goroutines):cap(s.Goroutines)])
		r.gs = s.Goroutines
	}()
	slices.Sort(ptrs) // see readRuns
	return r.readRuns(ptrs, r.layout.span(), func(_ uint64, b []byte) {
		if b == nil {
			s.Dropped[DropUnreadable]++
			return
		}
		g, dead, why := r.decode(b)
		switch {
		case dead:
			s.Dead++
			return
		case why != "":
			s.Dropped[why]++
			return
		}
		slot, dup := r.remember(g.ID)
		if dup {
			s.Dropped[DropDuplicate]++
			return
		}
		g.slot = slot
		s.Goroutines = append(s.Goroutines, g)
	})
}

// decode extracts and checks one g. dead is true for a g free for reuse
// or not yet started; why names the first check that failed.
func (r *Reader) decode(b []byte) (g G, dead bool, why string) {
	l := r.layout
	word := func(off uint64) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
	status := binary.LittleEndian.Uint32(b[l.AtomicStatus:]) &^ scanBit
	if int(status) >= len(l.Statuses) || l.Statuses[status] == "" || status&^0xff != 0 {
		return g, false, DropStatus
	}
	switch l.Statuses[status] {
	case "dead", "deadextra", "idle":
		return g, true, ""
	}
	g = G{ID: word(l.Goid), Status: status, WaitReason: b[l.WaitReason], GoPC: word(l.Gopc), StartPC: word(l.StartPC),
		StackLo: word(l.StackLo), StackHi: word(l.StackHi)}
	switch {
	case g.ID == 0 || g.ID >= maxGoid:
		return g, false, DropGoid
	case g.StackLo == 0 || g.StackHi <= g.StackLo || g.StackHi-g.StackLo > maxStackSize:
		return g, false, DropStack
	case !r.inText(g.GoPC):
		return g, false, DropGoPC
	case !r.isEntry(g.StartPC):
		return g, false, DropStartPC
	}
	if l.Statuses[status] == "waiting" || l.Statuses[status] == "leaked" {
		g.waiting = true
		g.sched = [3]uint64{word(l.SchedPC), word(l.SchedSP), word(l.SchedBP)}
	}
	return g, false, ""
}

// reuse is s with length n, reallocated (with room to grow) only if too
// small or far too large. The room is an eighth more, and a few dozen for
// a small n: a fixed 1024 more goroutines cost 50 watched targets 5 MiB.
func reuse[T any](s []T, n int) []T {
	if cap(s) < n || cap(s) > 2*n+1024 {
		return make([]T, n, n+n/8+64)
	}
	return s[:n]
}

func (r *Reader) inText(pc uint64) bool { return pc >= r.textLo && pc < r.textHi }

// isEntry: startpc must be where a function begins (memoised: few
// distinct start functions).
func (r *Reader) isEntry(pc uint64) bool {
	if !r.inText(pc) {
		return false
	}
	if pc == r.lastEntry {
		return true
	}
	if e, ok := r.entry[pc]; ok {
		return e
	}
	_, entry, ok := r.exe.FuncAt(pc - r.bias)
	e := ok && entry == pc-r.bias
	if len(r.entry) < 1<<16 {
		r.entry[pc] = e
	}
	if e {
		r.lastEntry = pc
	}
	return e
}
