package analysis

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/snapshot"
	"github.com/leakscope/leakscope/symbolize"
)

// mapSymbolizer resolves PCs from a table, expanding inlined frames.
type mapSymbolizer struct {
	frames map[uint64][]symbolize.Frame
	calls  int
}

func (m *mapSymbolizer) Symbolize(pcs []uint64) []symbolize.Frame {
	m.calls++
	var out []symbolize.Frame
	for _, pc := range pcs {
		out = append(out, m.frames[pc]...)
	}
	return out
}

func testSymbolizer() *mapSymbolizer {
	f := func(pc uint64, fn, file string, line int, inl bool) symbolize.Frame {
		return symbolize.Frame{PC: pc, Function: fn, File: file, Line: line, Inlined: inl}
	}
	return &mapSymbolizer{frames: map[uint64][]symbolize.Frame{
		0x100: {f(0x100, "runtime.mallocgc", "/go/src/runtime/malloc.go", 1000, false)},
		0x200: {f(0x200, "runtime.growslice", "/go/src/runtime/slice.go", 200, false)},
		0x300: {f(0x300, "runtime.makeslice", "/go/src/runtime/slice.go", 100, false)},
		// main.add inlined into main.handle at one PC.
		0x400: {f(0x400, "main.add", "/src/app/store.go", 12, true), f(0x400, "main.handle", "/src/app/main.go", 30, false)},
		0x500: {f(0x500, "main.main", "/src/app/main.go", 50, false)},
	}}
}

func stats(id int32, pcs []uint64, liveAges []uint64, size uint64) *snapshot.StackStats {
	var n uint64
	for _, c := range liveAges {
		n += c
	}
	return &snapshot.StackStats{
		StackID: id, PCs: pcs,
		Allocs: n + 4, AllocBytes: (n + 4) * size, Frees: 4, FreeBytes: 4 * size,
		LiveObjects: n, LiveBytes: n * size, LiveAges: liveAges,
	}
}

func snap(sec int, gc uint64, st ...*snapshot.StackStats) *snapshot.Snapshot {
	s := &snapshot.Snapshot{
		PID: 7, Time: time.Unix(1_700_000_000+int64(sec), 0).UTC(), GCCycles: gc,
		MemProfileRate: 512 * 1024, Stacks: map[int32]*snapshot.StackStats{},
	}
	for _, x := range st {
		s.Stacks[x.StackID] = x
	}
	return s
}

func TestGroupingAndSymbolizeOnce(t *testing.T) {
	sym := testSymbolizer()
	tg := NewTarget(Config{})
	// Two kernel stacks, same source stack from the leak site outward,
	// reached through different runtime paths: one suspect.
	a := []uint64{0x100, 0x200, 0x400, 0x500}
	b := []uint64{0x100, 0x300, 0x400, 0x500}
	for i := range 5 {
		tg.Add(snap(10*i, uint64(2*i),
			stats(1, a, []uint64{1, 2, 3}, 64),
			stats(2, b, []uint64{0, 0, 5}, 64)), sym)
	}
	if sym.calls != 2 {
		t.Fatalf("Symbolize called %d times, want 2 (once per stack id)", sym.calls)
	}
	st := tg.Stacks()
	if len(st) != 1 {
		t.Fatalf("got %d stacks, want 1 group: %+v", len(st), st)
	}
	g := st[0]
	if g.Frames[0].Function != "main.add" || len(g.Frames) != 3 {
		t.Fatalf("frames = %+v, want main.add, main.handle, main.main", g.Frames)
	}
	if len(g.StackIDs) != 2 {
		t.Fatalf("stack ids = %v", g.StackIDs)
	}
	// 11 live objects of 64 B at rate 512 KiB, scaled per stack id.
	f := 1 / (1 - math.Exp(-64.0/(512*1024)))
	if want := int64(6*f) + int64(5*f); g.LiveObjects != want {
		t.Fatalf("LiveObjects = %d, want %d", g.LiveObjects, want)
	}
	if want := int64(6*64*f) + int64(5*64*f); g.LiveBytes != want {
		t.Fatalf("LiveBytes = %d, want %d", g.LiveBytes, want)
	}
	// Ages: (0*1 + 1*2 + 2*3) for stack 1, 2*5 for stack 2.
	if want := int64(8*f + 10*f); math.Abs(float64(g.AgeGCCycles-want)) > 1 {
		t.Fatalf("AgeGCCycles = %d, want %d", g.AgeGCCycles, want)
	}
}

func TestSuspectJSONContract(t *testing.T) {
	tg := NewTarget(Config{})
	s := newSim(1, 5, stream{stack: 1, size: 64, rate: constRate(1), death: forever})
	sym := &simSymbolizer{}
	for range 70 {
		tg.Add(s.step(), sym)
	}
	sus := tg.Suspects()
	if len(sus) != 1 || sus[0].Verdict != VerdictLeak {
		t.Fatalf("suspects = %+v, want one leak", sus)
	}
	sp := sus[0]
	if sp.Function != "main.site1" || sp.File != "/src/app/main.go" || sp.Line != 101 {
		t.Fatalf("site = %s %s:%d", sp.Function, sp.File, sp.Line)
	}
	if want := []string{"main.site1 (main.go:101)", "main.main (main.go:10)"}; strings.Join(sp.Stack, "|") != strings.Join(want, "|") {
		t.Fatalf("stack = %q, want %q", sp.Stack, want)
	}
	if sp.FirstLeakAt.IsZero() || sp.Score <= 0 || sp.Score > 1 || sp.GrowthBytesPerSecond <= 0 {
		t.Fatalf("suspect = %+v", sp)
	}
	raw, err := json.Marshal(sp)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"function", "file", "line", "stack", "live_bytes", "live_objects",
		"growth_bytes_per_second", "median_age_gc_cycles", "score", "verdict", "first_leak_at", "evidence"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, raw)
		}
	}
	if _, err := time.Parse(time.RFC3339, m["first_leak_at"].(string)); err != nil {
		t.Errorf("first_leak_at not RFC3339: %v", err)
	}
	ev := m["evidence"].(map[string]any)
	for _, k := range []string{"slope_bytes_per_second", "p_value", "mann_kendall_z", "window_seconds", "window_gc_cycles", "unfreed_share"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("evidence lacks %q: %s", k, raw)
		}
	}
	sp.FirstLeakAt = time.Time{}
	raw, _ = json.Marshal(sp)
	if strings.Contains(string(raw), "first_leak_at") {
		t.Errorf("zero first_leak_at not omitted: %s", raw)
	}
}

func TestSuspectsRankedAndCapped(t *testing.T) {
	var streams []stream
	for id := int32(1); id <= 5; id++ {
		streams = append(streams, stream{stack: id, size: 64, rate: constRate(0.2 * float64(id)), death: forever})
	}
	tg := NewTarget(Config{MaxSuspects: 3})
	s := newSim(3, 5, streams...)
	for range 70 {
		tg.Add(s.step(), &simSymbolizer{})
	}
	sus := tg.Suspects()
	if len(sus) != 3 {
		t.Fatalf("got %d suspects, want 3", len(sus))
	}
	for i := 1; i < len(sus); i++ {
		if CompareSuspects(sus[i-1], sus[i]) > 0 {
			t.Fatalf("not ranked: %+v then %+v", sus[i-1], sus[i])
		}
	}
}

// Every leak ranks before every watch, whatever the scores; within a
// verdict the fastest growth, then the most live bytes, comes first.
func TestCompareSuspects(t *testing.T) {
	in := []Suspect{
		{Function: "watch-fast", Verdict: VerdictWatch, Score: 0.75, GrowthBytesPerSecond: 1e6, LiveBytes: 1 << 20},
		{Function: "leak-slow", Verdict: VerdictLeak, Score: 0.69, GrowthBytesPerSecond: 1e3, LiveBytes: 84 << 20},
		{Function: "leak-fast", Verdict: VerdictLeak, Score: 0.5, GrowthBytesPerSecond: 1e5, LiveBytes: 1 << 20},
		{Function: "leak-fast-big", Verdict: VerdictLeak, Score: 0.5, GrowthBytesPerSecond: 1e5, LiveBytes: 2 << 20},
		{Function: "watch-slow", Verdict: VerdictWatch, Score: 0.99, GrowthBytesPerSecond: 10},
	}
	slices.SortFunc(in, CompareSuspects)
	var got []string
	for _, s := range in {
		got = append(got, s.Function)
	}
	want := "leak-fast-big leak-fast leak-slow watch-fast watch-slow"
	if strings.Join(got, " ") != want {
		t.Fatalf("order %v, want %s", got, want)
	}
}

// A site keeps what a library function allocated for it: a key built by
// encoding/hex and the record it allocates itself, on two lines, are one
// suspect named after the user's function, with allocated_in.
func TestSiteInUserCode(t *testing.T) {
	f := func(pc uint64, fn string, line int) []symbolize.Frame {
		return []symbolize.Frame{{PC: pc, Function: fn, File: "/src/app/main.go", Line: line}}
	}
	sym := &mapSymbolizer{frames: map[uint64][]symbolize.Frame{
		0x100: {{PC: 0x100, Function: "runtime.mallocgc"}},
		0x200: {{PC: 0x200, Function: "runtime.makeslice"}},
		0x300: {{PC: 0x300, Function: "encoding/hex.EncodeToString", File: "/go/src/encoding/hex/hex.go", Line: 100}},
		0x400: f(0x400, "main.rememberSession", 36),
		0x410: f(0x410, "main.rememberSession", 37),
		0x500: f(0x500, "main.main", 50),
		0x600: {{PC: 0x600, Function: "strconv.Itoa", File: "/go/src/strconv/itoa.go", Line: 10}},
		0x700: {{PC: 0x700, Function: "net/http.(*conn).serve", File: "/go/src/net/http/server.go", Line: 2000}},
	}}
	key := []uint64{0x100, 0x200, 0x300, 0x400, 0x500}
	rec := []uint64{0x100, 0x410, 0x500}
	std := []uint64{0x100, 0x600, 0x700}
	tg := NewTarget(Config{})
	for i := range 5 {
		tg.Add(snap(10*i, uint64(2*i),
			stats(1, key, []uint64{1, 2, 3}, 16),
			stats(2, rec, []uint64{1, 2, 3}, 2048),
			stats(3, std, []uint64{1, 2, 3}, 8)), sym)
	}
	st := tg.Stacks()
	if len(st) != 3 {
		t.Fatalf("got %d stacks, want the 3 source-level stacks: %+v", len(st), st)
	}
	bySite := map[string][]Suspect{}
	for _, g := range tg.groups {
		bySite[g.key] = append(bySite[g.key], g.suspect())
	}
	if len(bySite) != 2 {
		t.Fatalf("got %d sites, want main.rememberSession and strconv.Itoa", len(bySite))
	}
	for _, parts := range bySite {
		s := mergeSite(parts)
		switch s.Function {
		case "main.rememberSession":
			var sum int64
			for _, p := range parts {
				sum += p.LiveBytes
			}
			if len(parts) != 2 || s.Line != 37 || !slices.Equal(s.AllocatedIn, []string{"encoding/hex.EncodeToString"}) ||
				!slices.Equal(s.StackIDs, []int32{1, 2}) || s.LiveBytes != sum {
				t.Errorf("user site = %+v, want 2 parts, line 37 (the larger), allocated_in encoding/hex.EncodeToString, stacks 1 and 2, live bytes %d", s, sum)
			}
		case "strconv.Itoa": // all standard library: the first frame outside the runtime
			if len(s.AllocatedIn) != 0 || len(parts) != 1 {
				t.Errorf("std-only site = %+v", s)
			}
		default:
			t.Errorf("unexpected site %q", s.Function)
		}
	}
	// The strongest part leads: a leak before a watch, whatever its size.
	leak := Suspect{Function: "main.f", Line: 1, Verdict: VerdictLeak, LiveBytes: 10, StackIDs: []int32{3}}
	watch := Suspect{Function: "main.f", Line: 2, Verdict: VerdictWatch, LiveBytes: 1000, GrowthBytesPerSecond: 5, AllocatedIn: []string{"fmt.Sprint"}, StackIDs: []int32{4}}
	if m := mergeSite([]Suspect{watch, leak}); m.Verdict != VerdictLeak || m.Line != 1 || m.LiveBytes != 1010 || m.GrowthBytesPerSecond != 5 || len(m.AllocatedIn) != 1 {
		t.Errorf("merged = %+v", m)
	}
}

func TestAddOrderAndResets(t *testing.T) {
	tg := NewTarget(Config{})
	s := newSim(1, 5, stream{stack: 1, size: 64, rate: constRate(1), death: forever})
	sym := &simSymbolizer{}
	var last *snapshot.Snapshot
	for range 70 {
		last = s.step()
		tg.Add(last, sym)
	}
	first := tg.Suspects()[0].FirstLeakAt
	// A stale snapshot is ignored.
	old := *last
	old.Time = old.Time.Add(-time.Minute)
	tg.Add(&old, sym)
	if sus := tg.Suspects(); len(sus) != 1 || sus[0].Verdict != VerdictLeak {
		t.Fatalf("stale snapshot changed the verdict: %+v", sus)
	}
	// A new MemProfileRate restarts the window; the leak is held, said to
	// be, until the new window names it again, and the first leak time is
	// kept.
	next := s.step()
	next.MemProfileRate = 4096
	tg.Add(next, sym)
	sus := tg.Suspects()
	if len(sus) != 1 || sus[0].Verdict != VerdictLeak || !sus[0].Evidence.HeldAcrossRateChange ||
		!strings.HasPrefix(sus[0].Reason, "held from before the sampling rate changed") {
		t.Fatalf("after a rate change: %+v, want the leak held across it", sus)
	}
	// A second change during the hold keeps the one hold.
	next = s.step()
	next.MemProfileRate = 8192
	tg.Add(next, sym)
	if sus = tg.Suspects(); len(sus) != 1 || sus[0].Verdict != VerdictLeak || strings.Count(sus[0].Reason, "held from before") != 1 {
		t.Fatalf("after a second rate change: %+v, want the leak held once", sus)
	}
	for range 70 {
		n := s.step()
		n.MemProfileRate = 8192
		tg.Add(n, sym)
	}
	sus = tg.Suspects()
	if len(sus) != 1 || sus[0].Verdict != VerdictLeak || sus[0].Evidence.HeldAcrossRateChange || !sus[0].FirstLeakAt.Equal(first) {
		t.Fatalf("after the new window: %+v, want leak since %v on the new evidence", sus, first)
	}
}

// A verdict held across a rate change lasts only while the new evidence
// is weaker and not yet a whole window: every report in between names the
// leak, and a site whose growth stopped when the rate moved is no longer
// one once the new evidence shows no growth over the least span a leak
// needs; a site whose objects were all freed keeps no hold at all.
func TestVerdictHeldAcrossRateChange(t *testing.T) {
	const moveAt = 700.0 // seconds: the leak is named well before
	run := func(leak stream) []Verdict {
		tg := NewTarget(Config{})
		s := newSim(3, 5, leak, stream{stack: 2, size: 64, rate: constRate(20), death: expLife(3)})
		sym := &simSymbolizer{}
		var out []Verdict
		for i := 0; i < 200; i++ {
			n := s.step()
			if s.t > moveAt {
				n.MemProfileRate = 4 * simRate
			}
			tg.Add(n, sym)
			v := Verdict("")
			for _, sp := range tg.Suspects() {
				if sp.Function == "main.site1" {
					v = sp.Verdict
				}
			}
			out = append(out, v)
		}
		return out
	}
	moved := int(moveAt / 10) // the first report at the new rate
	steady := run(stream{stack: 1, size: 64, rate: constRate(1), death: forever})
	if steady[moved-1] != VerdictLeak {
		t.Fatalf("verdict %q in the last report before the rate moved, want leak: %v", steady[moved-1], steady)
	}
	for i := moved; i < len(steady); i++ {
		if steady[i] != VerdictLeak {
			t.Fatalf("report %d (rate moved at %d): verdict %q, want the leak kept: %v", i+1, moved+1, steady[i], steady)
		}
	}
	stopped := run(stream{stack: 1, size: 64, rate: during(1, 0, moveAt), death: forever})
	if stopped[moved] != VerdictLeak {
		t.Errorf("growth stopped as the rate moved: verdict %q right after, want the leak held", stopped[moved])
	}
	// Not a leak once the new evidence has seen no growth over the least
	// span a leak needs (50 s and 10 GC cycles: 10 reports of 10 s here),
	// well before a whole window (5 minutes: 30 reports) would end the hold.
	for i := moved + 15; i < len(stopped); i++ {
		if stopped[i] == VerdictLeak {
			t.Fatalf("growth stopped as the rate moved: still %q in report %d, %d after the move, want the hold ended", stopped[i], i+1, i-moved)
		}
	}
	freed := run(stream{stack: 1, size: 64, rate: during(1, 0, moveAt),
		death: func(_ *rand.Rand, at float64) float64 { return math.Max(at, moveAt-5) }})
	if freed[moved] != "" {
		t.Errorf("every object freed as the rate moved: verdict %q, want none held", freed[moved])
	}
}

func TestUnknownStack(t *testing.T) {
	tg := NewTarget(Config{})
	tg.Add(snap(0, 0, stats(-1, nil, []uint64{3}, 64)), testSymbolizer())
	st := tg.Stacks()
	if len(st) != 1 || len(st[0].Frames) != 0 || st[0].LiveObjects == 0 {
		t.Fatalf("unknown stack: %+v", st)
	}
	g := tg.groups[unknownFunction]
	if g == nil || g.suspect().Function != unknownFunction {
		t.Fatalf("unknown stack not grouped as %q", unknownFunction)
	}
}
