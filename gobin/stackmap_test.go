package gobin

import (
	"errors"
	"math/bits"
	"os"
	"runtime"
	"strings"
	"testing"
)

// callerPC is the return address in its caller: where the caller's frame
// is stopped while callerPC runs.
//
//go:noinline
func callerPC() uintptr {
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:])
	return pcs[0]
}

var sink int

// holdsPointer keeps p live across a call: its frame has a live pointer
// word there.
//
//go:noinline
func holdsPointer(p *int) (int, uintptr) {
	pc := callerPC()
	return *p, pc
}

// holdsInts keeps only integers live across the call.
//
//go:noinline
func holdsInts(a, b int) (int, uintptr) {
	pc := callerPC()
	return a + b, pc
}

func pointerWords(m FrameMap) int {
	n := 0
	for _, b := range append(append([]byte(nil), m.Locals...), m.Args...) {
		n += bits.OnesCount8(b)
	}
	return n
}

// openSelf opens this test binary.
func openSelf(t *testing.T) *Binary {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(self)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestFrameMap: the stack maps of this test binary at two call sites, the
// one with a pointer live across the call and the one without, as the
// garbage collector would scan the frames; no map where there is no Go
// function.
func TestFrameMap(t *testing.T) {
	b := openSelf(t)
	x := 1
	_, withPtr := holdsPointer(&x)
	_, withInts := holdsInts(1, 2)
	if f, ok := b.FuncAt(uint64(withPtr)); !ok || !strings.HasSuffix(f.Name, ".holdsPointer") {
		t.Skipf("the test binary's addresses are not its link-time ones (PIE?): %q", f.Name)
	}
	m, err := b.FrameMap(uint64(withPtr) - 1)
	if err != nil {
		t.Fatal(err)
	}
	if pointerWords(m) == 0 {
		t.Errorf("holdsPointer's frame across its call: no pointer word (%+v)", m)
	}
	m, err = b.FrameMap(uint64(withInts) - 1)
	if err != nil {
		t.Fatal(err)
	}
	if n := pointerWords(m); n != 0 {
		t.Errorf("holdsInts's frame across its call: %d pointer words (%+v)", n, m)
	}
	if _, err := b.FrameMap(1); !errors.Is(err, ErrNoStackMap) {
		t.Errorf("pc 1: %v, want ErrNoStackMap", err)
	}
	sink = x
}

// TestFrameMapGarbage: every pc of a text section whose maps are garbage
// gives an error or a map, never a panic or a huge allocation.
func TestFrameMapGarbage(t *testing.T) {
	b := openSelf(t)
	ft, err := b.funcs()
	if err != nil {
		t.Fatal(err)
	}
	// Scramble go:func.* (a copy) and ask for maps all over the text.
	data := append([]byte(nil), ft.gofuncData...)
	for i := range data {
		data[i] ^= byte(i * 131)
	}
	bad := &funcTable{tab: ft.tab, gofuncData: data}
	lo, hi, _ := b.TextRange()
	maps := 0
	for pc := lo; pc < hi; pc += (hi - lo) / 5000 {
		if m, err := bad.frameMap(pc); err == nil {
			maps++
			if m.LocalWords > maxMapWords || m.ArgWords > maxMapWords || len(m.Objects) > maxStackObjects {
				t.Fatalf("pc %#x: implausible map accepted: %d/%d words, %d objects", pc, m.LocalWords, m.ArgWords, len(m.Objects))
			}
		}
	}
	t.Logf("%d of 5000 pcs gave a map from scrambled data", maps)
}
