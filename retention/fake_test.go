package retention

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/symbolize"
)

// randomMemory answers every read with random bytes: a wrong address,
// a wrong layout or a heap changing under the read.
type randomMemory struct{ r *rand.Rand }

func (m randomMemory) ReadBatch(addrs []uint64, bufs [][]byte, ok []bool) error {
	for i, b := range bufs {
		for j := range b {
			b[j] = byte(m.r.Uint32())
		}
		ok[i] = m.r.IntN(8) != 0
	}
	return nil
}

// goneMemory answers n reads, then the process is gone.
type goneMemory struct {
	inner goroutines.Memory
	n     int
}

func (m *goneMemory) ReadBatch(addrs []uint64, bufs [][]byte, ok []bool) error {
	if m.n == 0 {
		return goroutines.ErrGone
	}
	m.n--
	return m.inner.ReadBatch(addrs, bufs, ok)
}

var testLayout = func() *HeapLayout {
	l, err := LayoutFor("go1.26.0", "amd64")
	if err != nil {
		panic(err)
	}
	return l
}()

// TestBuildIndexGarbage: random memory never panics, and every span that
// is kept is self-consistent.
func TestBuildIndexGarbage(t *testing.T) {
	maps := []symbolize.Mapping{{Start: 0xc000000000, End: 0xc008000000, Perms: "rw-p"}}
	indexed := 0
	defer func() {
		if indexed == 0 {
			t.Errorf("no seed got past the arena index: the span decoding was never exercised")
		}
	}()
	for seed := uint64(0); seed < 200; seed++ {
		x, err := BuildIndex(randomMemory{rand.New(rand.NewPCG(seed, 1))}, testLayout, 0x5a0000, maps)
		if err == nil {
			indexed++
		}
		if err != nil {
			if !errors.Is(err, ErrNoMheap) {
				t.Fatalf("seed %d: %v, want ErrNoMheap", seed, err)
			}
			continue
		}
		for _, s := range x.Spans {
			if s.Nelems*s.Elemsize > s.Limit-s.Base || s.FreeIndex > s.Nelems || s.Base%testLayout.PageSize != 0 {
				t.Fatalf("seed %d: implausible span kept: %+v", seed, s)
			}
		}
		for i := 0; i < 100; i++ {
			x.Lookup(rand.Uint64()) // must not panic
		}
	}
}

// TestBuildIndexGone: a target exiting mid-read is ErrGone, at any step.
func TestBuildIndexGone(t *testing.T) {
	maps := []symbolize.Mapping{{Start: 0xc000000000, End: 0xc008000000, Perms: "rw-p"}}
	for n := 0; n < 5; n++ {
		mem := &goneMemory{inner: randomMemory{rand.New(rand.NewPCG(7, 7))}, n: n}
		if _, err := BuildIndex(mem, testLayout, 0x5a0000, maps); err != nil && !errors.Is(err, goroutines.ErrGone) && !errors.Is(err, ErrNoMheap) {
			t.Errorf("gone after %d reads: %v", n, err)
		}
	}
}

// TestAllocated: below freeindex every slot is taken; above it the bits
// say; beyond nelems nothing is.
func TestAllocated(t *testing.T) {
	s := Span{Base: 0x1000, Limit: 0x3000, Elemsize: 512, Nelems: 16, FreeIndex: 4, allocBits: []byte{0b0000_0001, 0b1000_0000}}
	want := map[uint64]bool{0: true, 3: true, 4: false, 7: false, 15: true, 16: false, 100: false}
	for i, w := range want {
		if got := s.Allocated(i); got != w {
			t.Errorf("slot %d: allocated %v, want %v", i, got, w)
		}
	}
	x := &Index{Spans: []Span{s}}
	if _, base, ok := x.Lookup(0x1000 + 15*512 + 7); !ok || base != 0x1000+15*512 {
		t.Errorf("Lookup inside slot 15: %#x %v", base, ok)
	}
	if _, _, ok := x.Lookup(0x1000 + 5*512); ok {
		t.Errorf("Lookup of a free slot succeeded")
	}
	if _, _, ok := x.Lookup(0x3000); ok {
		t.Errorf("Lookup past the span succeeded")
	}
}

// TestWalkFrames: frames split at each frame record, and a corrupt chain
// (pointing outside the copy, or backwards) ends the walk without panic.
func TestWalkFrames(t *testing.T) {
	const base = 0x10000
	mem := make([]byte, 0x100)
	put := func(addr, v uint64) { binary.LittleEndian.PutUint64(mem[addr-base:], v) }
	// innermost frame at sp=base, its record at 0x10020; the caller's
	// record at 0x10060; then the end of the chain.
	put(0x10020, 0x10060)
	put(0x10028, 0x401001)
	put(0x10060, 0)
	put(0x10068, 0x402001)
	fr := walk(frame{lo: base, hi: 0x10030, pc: 0x400000}, base, mem)
	if len(fr) != 3 || fr[1].lo != 0x10030 || fr[1].hi != 0x10070 || fr[1].pc != 0x401000 || fr[2].pc != 0x402000 {
		t.Errorf("frames %+v", fr)
	}
	put(0x10020, 0xdeadbeef00) // outside the copy
	if fr := walk(frame{lo: base, hi: 0x10030, pc: 0x400000}, base, mem); len(fr) > 2 {
		t.Errorf("corrupt chain: %+v", fr)
	}
	if fr := walk(frame{lo: base, hi: 0xffff_ffff_ffff_fff0, pc: 1}, base, mem); len(fr) != 1 {
		t.Errorf("frame pointer outside the copy: %+v", fr)
	}
}

// TestSummary: the line names the root and its kind, collapses runs of
// one size into a chain, and merging counts samples per root.
func TestSummary(t *testing.T) {
	hops := []Hop{{Kind: KindGlobal, Name: "main.list"}}
	for i := 0; i < 5; i++ {
		hops = append(hops, Hop{Kind: KindHeap, Size: 32})
	}
	hops = append(hops, Hop{Kind: KindHeap, Size: 2304}, Hop{Kind: KindLeaked, Size: 48})
	got := summary(hops)
	if want := "main.list (global) -> a chain of 5 objects of 32 B -> 2304 B object"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	frame := []Hop{{Kind: KindFrame, Name: "main.hold", Goroutine: 7, File: "/src/main.go", Line: 41}, {Kind: KindLeaked}}
	if got := summary(frame); !strings.HasPrefix(got, "main.hold frame (goroutine 7, main.go:41)") {
		t.Errorf("frame summary %q", got)
	}
	paths := []Path{{Target: 1, Hops: hops}, {Target: 2, Hops: frame}, {Target: 3, Hops: hops}, {Target: 4, Why: "no holder within depth 8"}}
	r := Summarize(paths, &Result{}, testTime)
	if r.Status != "found" || len(r.Paths) != 2 || r.Paths[0].Root != "main.list" || r.Paths[0].Samples != 2 || r.Paths[1].Confidence != "medium" || r.Unreached["no holder within depth 8"] != 1 {
		t.Errorf("Summarize: %+v", r)
	}
	if r := Summarize(paths[3:], &Result{Cut: true}, testTime); r.Status != "cut" {
		t.Errorf("cut search: status %s", r.Status)
	}
}

var testTime = time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
