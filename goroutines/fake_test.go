package goroutines

import (
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"unsafe"
)

// fakeMem is a target address space made of regions.
type fakeMem struct {
	regions map[uint64][]byte // start -> bytes
	gone    bool
}

func (m *fakeMem) ReadBatch(addrs []uint64, bufs [][]byte, ok []bool) error {
	if m.gone {
		return ErrGone
	}
	for i, a := range addrs {
		ok[i] = false
		for start, b := range m.regions {
			if a >= start && a+uint64(len(bufs[i])) <= start+uint64(len(b)) {
				copy(bufs[i], b[a-start:])
				ok[i] = true
			}
		}
	}
	return nil
}

// fakeExe has text at [0x400000, 0x500000) with functions every 0x100.
type fakeExe struct{}

func (fakeExe) Arch() string      { return "amd64" }
func (fakeExe) GoVersion() string { return "go1.26.8" }
func (fakeExe) DataSymbol(name string) (uint64, uint64, bool) {
	switch name {
	case "runtime.allgs":
		return 0x600000, 24, true
	case "runtime.allglen":
		return 0x600100, 8, true
	}
	return 0, 0, false
}
func (fakeExe) GlobalRefs(string) ([]uint64, error) { return nil, errors.New("no code") }
func (fakeExe) SectionName(uint64) string           { return "" }
func (fakeExe) TextRange() (uint64, uint64, bool)   { return 0x400000, 0x500000, true }
func (fakeExe) FuncAt(pc uint64) (string, uint64, bool) {
	return "f", pc &^ 0xff, pc >= 0x400000 && pc < 0x500000
}

type fakeG struct {
	addr, goid uint64
	status     uint32
	gopc, pc   uint64
}

// newFake lays out gs (g structs of the go1.26 amd64 layout) and allgs.
func newFake(t *testing.T, gs []fakeG, allglen uint64) *fakeMem {
	l, err := LayoutFor("go1.26.8", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMem{regions: map[uint64][]byte{}}
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint64(hdr[0:], 0x700000)
	binary.LittleEndian.PutUint64(hdr[8:], uint64(len(gs)))
	binary.LittleEndian.PutUint64(hdr[16:], uint64(len(gs)))
	m.regions[0x600000] = hdr
	m.regions[0x600100] = binary.LittleEndian.AppendUint64(nil, allglen)
	ptrs := make([]byte, 8*len(gs))
	for i, g := range gs {
		binary.LittleEndian.PutUint64(ptrs[8*i:], g.addr)
		if g.addr == 0xdead0000 {
			continue // a garbage pointer: nothing mapped there
		}
		b := make([]byte, l.Size)
		put := func(off, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
		put(l.StackLo, g.addr+0x1000)
		put(l.StackHi, g.addr+0x3000)
		binary.LittleEndian.PutUint32(b[l.AtomicStatus:], g.status)
		put(l.Goid, g.goid)
		put(l.Gopc, g.gopc)
		put(l.StartPC, 0x401000)
		put(l.SchedPC, g.pc)
		put(l.SchedSP, g.addr+0x2f00)
		put(l.SchedBP, g.addr+0x2f80)
		b[l.WaitReason] = 20 // chan send in go1.26
		m.regions[g.addr] = b
		// Its stack: one frame record at bp -> return address 0x402345, then the end.
		stack := make([]byte, 0x2000)
		binary.LittleEndian.PutUint64(stack[0x1f80:], 0)
		binary.LittleEndian.PutUint64(stack[0x1f88:], 0x402345)
		m.regions[g.addr+0x1000] = stack
	}
	m.regions[0x700000] = ptrs
	return m
}

// TestReadBadInput: garbage pointers, impossible states, duplicate goids,
// pcs outside the text are dropped and counted; the cap skips and counts;
// a process gone mid-read is ErrGone; a wrong allglen is not believed.
func TestReadBadInput(t *testing.T) {
	gs := []fakeG{
		{addr: 0x800000, goid: 1, status: 4, gopc: 0x400123, pc: 0x401234},          // good, waiting
		{addr: 0x810000, goid: 2, status: 2, gopc: 0x400123},                        // good, running
		{addr: 0x820000, goid: 3, status: 6},                                        // dead
		{addr: 0xdead0000},                                                          // garbage pointer
		{addr: 0x830000, goid: 4, status: 77, gopc: 0x400123},                       // bad status
		{addr: 0x840000, goid: 1, status: 4, gopc: 0x400123, pc: 0x401234},          // duplicate goid
		{addr: 0x850000, goid: 5, status: 4, gopc: 0x12345, pc: 0x401234},           // gopc outside text
		{addr: 0x860000, goid: 0, status: 4, gopc: 0x400123, pc: 0x401234},          // goid 0
		{addr: 0x870000, goid: 6, status: 4 | scanBit, gopc: 0x400123, pc: 0x40abc}, // good, being scanned
	}
	m := newFake(t, gs, uint64(len(gs)))
	r, err := NewReader(fakeExe{}, m, 0, Config{})
	if err == nil || !errors.Is(err, ErrUnverified) {
		t.Fatalf("NewReader with 5 bad of 8 live-looking gs: %v, want ErrUnverified", err)
	}
	// The same with the cap: verified on the good ones, the rest skipped.
	r, err = NewReader(fakeExe{}, m, 0, Config{MaxGoroutines: 3})
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Goroutines) != 2 || s.Dead != 1 || s.Skipped != 6 {
		t.Errorf("capped read: %d live, %d dead, %d skipped; want 2, 1, 6", len(s.Goroutines), s.Dead, s.Skipped)
	}
	if got := s.Goroutines[0].Stack; len(got) != 2 || got[0] != 0x401234 || got[1] != 0x402345 {
		t.Errorf("waiting goroutine's stack %#x, want [0x401234 0x402345]", got)
	}
	// Uncapped: every bad kind counted.
	r.cfg.MaxGoroutines = 100
	if s, err = r.Read(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{DropUnreadable: 1, DropStatus: 1, DropDuplicate: 1, DropGoPC: 1, DropGoid: 1}
	for k, v := range want {
		if s.Dropped[k] != v {
			t.Errorf("dropped[%s] = %d, want %d (all: %v)", k, s.Dropped[k], v, s.Dropped)
		}
	}
	if len(s.Goroutines) != 3 || s.StacksReused != 1 {
		t.Errorf("%d live (want 3), %d stacks reused (want 1: goid 1 has not run)", len(s.Goroutines), s.StacksReused)
	}
	// allgs.len != allglen: torn or wrong roots.
	binary.LittleEndian.PutUint64(m.regions[0x600100], 99)
	if _, err := r.Read(); !errors.Is(err, ErrUnverified) {
		t.Errorf("allglen 99 for 9 gs: %v, want ErrUnverified", err)
	}
	m.gone = true
	if _, err := r.Read(); !errors.Is(err, ErrGone) {
		t.Errorf("process gone: %v, want ErrGone", err)
	}
}

// TestWalkFramesBounds: a frame chain that loops, leaves the read part of
// the stack or is too deep stops, saying why.
func TestWalkFramesBounds(t *testing.T) {
	mem := make([]byte, 64)
	base := uint64(0x1000)
	// A record at 0x1000 pointing to itself: a loop.
	binary.LittleEndian.PutUint64(mem[0:], 0x1000)
	binary.LittleEndian.PutUint64(mem[8:], 0x4000)
	if st, why := walkFrames(nil, 1, 0x1000, base, mem, 32); len(st) != 2 || why != "" {
		t.Errorf("loop: %v %q", st, why)
	}
	// A record pointing outside what was read.
	binary.LittleEndian.PutUint64(mem[0:], 0x9000)
	if st, why := walkFrames(nil, 1, 0x1000, base, mem, 32); len(st) != 2 || why != TruncOutside {
		t.Errorf("outside: %v %q", st, why)
	}
	// A chain of 4 records, depth 3.
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint64(mem[16*i:], base+uint64(16*(i+1)))
		binary.LittleEndian.PutUint64(mem[16*i+8:], 0x4000+uint64(i))
	}
	if st, why := walkFrames(nil, 1, 0x1000, base, mem, 3); len(st) != 3 || why != TruncDepth {
		t.Errorf("depth: %v %q", st, why)
	}
}

// countingMem counts the buffers read.
type countingMem struct {
	*fakeMem
	bufs int
}

func (m *countingMem) ReadBatch(addrs []uint64, bufs [][]byte, ok []bool) error {
	m.bufs += len(bufs)
	return m.fakeMem.ReadBatch(addrs, bufs, ok)
}

// TestReadRuns: g structs side by side are read as one run; a run that
// holds a pointer to nothing is read again one g at a time, so only that
// pointer is lost.
func TestReadRuns(t *testing.T) {
	l, err := LayoutFor("go1.26.8", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	const base, n, stride = 0x900000, 40, 0x1e0 // size class 480, like the runtime's
	span := make([]byte, n*stride)
	var ptrs []uint64
	for i := range n {
		b := span[i*stride:]
		put := func(off, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
		put(l.StackLo, 0xa00000)
		put(l.StackHi, 0xa02000)
		binary.LittleEndian.PutUint32(b[l.AtomicStatus:], 2) // running: no stack read
		put(l.Goid, uint64(100+i))
		put(l.Gopc, 0x400123)
		put(l.StartPC, 0x401000)
		ptrs = append(ptrs, base+uint64(i*stride))
	}
	hole := uint64(base + n*stride + 0x10000) // far past the span: nothing there
	ptrs = append(ptrs[:20], append([]uint64{hole}, ptrs[20:]...)...)
	m := &fakeMem{regions: map[uint64][]byte{base: span}}
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint64(hdr[0:], 0x700000)
	binary.LittleEndian.PutUint64(hdr[8:], uint64(len(ptrs)))
	binary.LittleEndian.PutUint64(hdr[16:], uint64(len(ptrs)))
	m.regions[0x600000] = hdr
	m.regions[0x600100] = binary.LittleEndian.AppendUint64(nil, uint64(len(ptrs)))
	var all []byte
	for _, p := range ptrs {
		all = binary.LittleEndian.AppendUint64(all, p)
	}
	m.regions[0x700000] = all
	cm := &countingMem{fakeMem: m}
	r, err := NewReader(fakeExe{}, cm, 0, Config{})
	if err != nil {
		t.Fatal(err)
	}
	cm.bufs = 0
	s, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Goroutines) != n || s.Dropped[DropUnreadable] != 1 {
		t.Errorf("read %d goroutines with %v dropped, want %d and 1 unreadable", len(s.Goroutines), s.Dropped, n)
	}
	// allgs header, allglen, the pointers, one run of 40 g structs and
	// the hole; nothing read again.
	if cm.bufs > 5 {
		t.Errorf("%d buffers read for %d g structs side by side, want at most 5", cm.bufs, n)
	}
	// A few goroutines need a buffer the size of their runs, not the
	// batch maximum: leakscope holds one per target.
	if got, most := cap(r.runBuf), (n+1)*(stride+maxRunGap); got > most {
		t.Errorf("run buffer of %d bytes for %d g structs, want at most %d", got, n+1, most)
	}
	// The hole just past the span, within a run's reach, and the last 15
	// g structs unmapped: the run fails as a whole and its g structs are
	// read one by one.
	binary.LittleEndian.PutUint64(m.regions[0x700000][20*8:], base+n*stride+0x40)
	m.regions[base] = span[:25*stride]
	if s, err = r.Read(); err != nil {
		t.Fatal(err)
	}
	if len(s.Goroutines) != 25 || s.Dropped[DropUnreadable] != 16 {
		t.Errorf("half-unmapped span: %d goroutines, %v dropped; want 25 and 16 unreadable", len(s.Goroutines), s.Dropped)
	}
}

// TestReadReusesMemory: once warm, a read of 10K waiting goroutines that
// have not run allocates next to nothing (not a G per goroutine, not a
// stack), whatever their number.
func TestReadReusesMemory(t *testing.T) {
	l, err := LayoutFor("go1.26.8", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	const base, n, stride = 0x900000, 10_000, 0x1e0
	const stackLo, stackHi = 0x4000000, 0x4002000
	span := make([]byte, n*stride)
	var all []byte
	for i := range n {
		b := span[i*stride:]
		put := func(off, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
		put(l.StackLo, stackLo)
		put(l.StackHi, stackHi)
		binary.LittleEndian.PutUint32(b[l.AtomicStatus:], 4) // waiting
		put(l.Goid, uint64(100+i))
		put(l.Gopc, 0x400123)
		put(l.StartPC, 0x401000)
		put(l.SchedPC, 0x401234)
		put(l.SchedSP, stackHi-0x100)
		put(l.SchedBP, stackHi-0x80)
		all = binary.LittleEndian.AppendUint64(all, base+uint64(i*stride))
	}
	stack := make([]byte, stackHi-stackLo)
	binary.LittleEndian.PutUint64(stack[len(stack)-0x80+8:], 0x402345) // return address; caller's bp 0 ends the chain
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint64(hdr[0:], 0x700000)
	binary.LittleEndian.PutUint64(hdr[8:], n)
	binary.LittleEndian.PutUint64(hdr[16:], n)
	m := &fakeMem{regions: map[uint64][]byte{base: span, stackLo: stack, 0x700000: all, 0x600000: hdr,
		0x600100: binary.LittleEndian.AppendUint64(nil, n)}}
	r, err := NewReader(fakeExe{}, m, 0, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const reads = 5
	for range reads {
		s, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Goroutines) != n || s.StacksReused != n || len(s.Goroutines[n-1].Stack) != 2 {
			t.Fatalf("read %d goroutines, %d stacks reused; want %d and %d (last stack %#x)", len(s.Goroutines), s.StacksReused, n, n, s.Goroutines[n-1].Stack)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / reads; per > 64<<10 {
		t.Errorf("a warm read of %d goroutines allocates %d bytes, want under 64 KiB (a G each would be %d)", n, per, n*int(unsafe.Sizeof(G{})))
	}
}

// TestStackBufferSizedToWaiting: the stacks of a few waiting goroutines
// are read into a buffer of their size, not the batch maximum (leakscope
// holds one per target: 50 targets held 52 MiB), and still unwound.
func TestStackBufferSizedToWaiting(t *testing.T) {
	gs := []fakeG{
		{addr: 0x800000, goid: 1, status: 4, gopc: 0x400123, pc: 0x401234}, // waiting
		{addr: 0x810000, goid: 2, status: 4, gopc: 0x400123, pc: 0x401234}, // waiting
		{addr: 0x820000, goid: 3, status: 2, gopc: 0x400123},               // running
	}
	r, err := NewReader(fakeExe{}, newFake(t, gs, uint64(len(gs))), 0, Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range s.Goroutines[:2] {
		if len(g.Stack) != 2 || g.Stack[1] != 0x402345 {
			t.Errorf("goroutine %d: stack %#x, want [0x401234 0x402345]", g.ID, g.Stack)
		}
	}
	if got, most := cap(r.stackBuf), 2*DefaultMaxStackRead; got > most {
		t.Errorf("stack buffer of %d bytes for 2 waiting goroutines, want at most %d", got, most)
	}
	for _, tc := range []struct{ waiting, read, want int }{
		{0, 8 << 10, 8 << 10}, {3, 8 << 10, 24 << 10}, {1000, 8 << 10, stackBufBytes}, {1, 2 << 20, 2 << 20},
	} {
		if got := stackBufSize(tc.waiting, tc.read); got != tc.want {
			t.Errorf("stackBufSize(%d, %d) = %d, want %d", tc.waiting, tc.read, got, tc.want)
		}
	}
}
