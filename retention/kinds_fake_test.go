package retention

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/gobin"
)

// fakeExe is a binary whose .rodata is [0x500000, 0x600000) and whose
// only function is time.goFunc at 0x401000.
type fakeExe struct{}

func (fakeExe) Arch() string                             { return "amd64" }
func (fakeExe) GoVersion() string                        { return "go1.26.0" }
func (fakeExe) DataSymbol(string) (uint64, uint64, bool) { return 0, 0, false }
func (fakeExe) GlobalRefs(string) ([]uint64, error)      { return nil, nil }
func (fakeExe) TextRange() (uint64, uint64, bool)        { return 0x401000, 0x402000, true }
func (fakeExe) Section(string) (uint64, uint64, bool)    { return 0, 0, false }
func (fakeExe) DataSymbols() []gobin.DataSymbol          { return nil }
func (fakeExe) Position(uint64) (string, string, int)    { return "", "", 0 }
func (fakeExe) FrameMap(uint64) (gobin.FrameMap, error) {
	return gobin.FrameMap{}, gobin.ErrNoStackMap
}
func (fakeExe) SectionName(a uint64) string {
	if a >= 0x500000 && a < 0x600000 {
		return ".rodata"
	}
	return ""
}
func (fakeExe) FuncAt(pc uint64) (string, uint64, bool) {
	if pc >= 0x401000 && pc < 0x401100 {
		return "time.goFunc", 0x401000, true
	}
	return "", 0, false
}

// TestTimerAndChannelGarbage: random objects and random memory never
// panic, and a timer is recognised only with time.goFunc's funcval.
func TestTimerAndChannelGarbage(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	st := &search{Searcher: &Searcher{exe: fakeExe{}, mem: randomMemory{r}, layout: testLayout, goFuncs: map[uint64]bool{}},
		x: &Index{}, res: &Result{Dropped: map[string]int{}}}
	for i := 0; i < 20000; i++ {
		obj := make([]byte, r.IntN(300))
		for j := range obj {
			obj[j] = byte(r.Uint32())
		}
		if h, ok := st.timerRoot(0xc000010000, obj); ok {
			t.Fatalf("random object %x taken for a timer: %+v", obj, h)
		}
		hops := []Hop{{Kind: KindGlobal}, {Kind: KindHeap, Size: 112, Field: testLayout.HchanBuf, Addr: r.Uint64()}, {Kind: KindHeap, Size: uint64(r.IntN(1 << 16)), Addr: r.Uint64()}}
		st.nameChannels(hops) // must not panic
	}
	// A real 1.26 AfterFunc timer: goFunc's funcval in .rodata, armed.
	l := testLayout
	obj := make([]byte, 112)
	tm := obj[l.TimerInObject:]
	tm[l.TimerState] = byte(l.TimerHeaped)
	binary.LittleEndian.PutUint64(tm[l.TimerWhen:], 42)
	binary.LittleEndian.PutUint64(tm[l.TimerF:], 0x500100)
	binary.LittleEndian.PutUint64(tm[l.TimerArg+8:], 0xc000020000)
	st.mem = wordMemory{0x500100: 0x401000}
	h, ok := st.timerRoot(0xc000010000, obj)
	if !ok || h.fv != 0xc000020000 || h.when != 42 || h.at != 0xc000010000+l.TimerInObject+l.TimerArg+8 {
		t.Errorf("timer not recognised: %+v %v", h, ok)
	}
	tm[l.TimerState] |= byte(l.TimerZombie) // stopped
	if _, ok := st.timerRoot(0xc000010000, obj); ok {
		t.Errorf("a stopped (zombie) timer taken for an armed one")
	}
}

// wordMemory answers reads of the words it holds, and fails the rest.
type wordMemory map[uint64]uint64

func (m wordMemory) ReadBatch(addrs []uint64, bufs [][]byte, ok []bool) error {
	for i, a := range addrs {
		v, found := m[a]
		ok[i] = found && len(bufs[i]) == 8
		if ok[i] {
			binary.LittleEndian.PutUint64(bufs[i], v)
		}
	}
	return nil
}

// TestArmed: before 1.23 a timer is armed unless its status is none,
// deleted, removing or removed; after, when heaped and not a zombie.
func TestArmed(t *testing.T) {
	old, err := LayoutFor("go1.21.0", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	for state, want := range map[uint64]bool{0: false, 1: true, 2: true, 3: false, 4: false, 5: false, 6: true, 7: true, 8: true, 9: true} {
		if got := armed(old, state); got != want {
			t.Errorf("go1.21 status %d: armed %v, want %v", state, got, want)
		}
	}
	for state, want := range map[uint64]bool{0: false, 1: true, 2: false, 3: true, 4: false, 5: false, 7: false} {
		if got := armed(testLayout, state); got != want {
			t.Errorf("go1.26 state %#x: armed %v, want %v", state, got, want)
		}
	}
}

// TestSummaryKinds: a timer root says when it fires; a global channel
// reads as the channel.
func TestSummaryKinds(t *testing.T) {
	timer := []Hop{{Kind: KindTimer, Name: "time.AfterFunc closure main.proxy.func1", FiresIn: 9*time.Minute + 5*time.Second}, {Kind: KindHeap, Size: 16}, {Kind: KindLeaked}}
	if got, want := summary(timer), "time.AfterFunc closure main.proxy.func1 (timer, fires in 9m5s) -> 16 B object"; got != want {
		t.Errorf("timer summary %q, want %q", got, want)
	}
	ch := []Hop{{Kind: KindGlobal, Name: "main.jobs"}, {Kind: KindChannel, Name: "channel buffer, 5 of 8 slots", Size: 112}, {Kind: KindHeap, Size: 32}, {Kind: KindLeaked}}
	if got, want := summary(ch), "main.jobs (channel buffer, 5 of 8 slots) -> 32 B object"; got != want {
		t.Errorf("channel summary %q, want %q", got, want)
	}
	frame := []Hop{{Kind: KindFrame, Name: "main.worker", Goroutine: 7, File: "/src/main.go", Line: 9}, {Kind: KindChannel, Name: "channel buffer, 1 of 4 slots"}, {Kind: KindLeaked}}
	if got := summary(frame); !strings.HasSuffix(got, " -> channel buffer, 1 of 4 slots") {
		t.Errorf("frame channel summary %q", got)
	}
}
