package goroutines

import (
	"fmt"
	"testing"
	"time"

	"github.com/leakscope/leakscope/symbolize"
)

// nameSym names every address "f<hex>" at line 1.
type nameSym struct{}

func (nameSym) Symbolize(pcs []uint64) []symbolize.Frame {
	out := make([]symbolize.Frame, len(pcs))
	for i, pc := range pcs {
		out[i] = symbolize.Frame{PC: pc, Function: fmt.Sprintf("f%x", pc), File: "x.go", Line: 1}
	}
	return out
}

// sim builds snapshots every 10 s: each scenario adds and ends goroutines
// of its own creation site (gopc).
type sim struct {
	t0    time.Time
	next  uint64
	alive map[uint64]G // by goid
}

func newSim() *sim { return &sim{t0: time.Unix(1_800_000_000, 0), next: 1, alive: map[uint64]G{}} }

func (s *sim) spawn(gopc uint64, n int) []uint64 {
	var ids []uint64
	stack := []uint64{0x9000, gopc + 0x110} // one copy, as the reader hands out
	for range n {
		g := G{ID: s.next, Status: 4, WaitReason: 20, GoPC: gopc, StartPC: gopc + 0x100, StackLo: 0x1000, StackHi: 0x1800, Stack: stack}
		s.alive[g.ID] = g
		ids = append(ids, g.ID)
		s.next++
	}
	return ids
}

func (s *sim) end(ids ...uint64) {
	for _, id := range ids {
		delete(s.alive, id)
	}
}

func (s *sim) snapshot(step int) *Snapshot {
	snap := &Snapshot{Time: s.t0.Add(time.Duration(step) * 10 * time.Second), Dropped: map[string]int{}, Truncated: map[string]int{},
		Goroutines: make([]G, 0, len(s.alive))}
	for _, g := range s.alive {
		snap.Goroutines = append(snap.Goroutines, g)
	}
	snap.AllGLen = len(snap.Goroutines)
	return snap
}

// scenario drives one site of the simulation at each step.
type scenario struct {
	name string
	gopc uint64
	leak bool
	step func(s *sim, step int)
}

// Sites: 0x1000 leaks, the rest are the controls of the verdict's doc.
func scenarios() []scenario {
	var requestIDs [][]uint64
	var burst []uint64
	var slowReq [][]uint64
	return []scenario{
		{"leak one per 10s", 0x1000, true, func(s *sim, i int) { s.spawn(0x1000, 1) }},
		{"slow leak: 1 in 10 requests never ends", 0x2000, true, func(s *sim, i int) {
			ids := s.spawn(0x2000, 10)
			slowReq = append(slowReq, ids[1:])
			if len(slowReq) > 1 {
				s.end(slowReq[len(slowReq)-2]...)
			}
		}},
		{"pool at boot", 0x3000, false, func(s *sim, i int) {
			if i == 0 {
				s.spawn(0x3000, 32)
			}
		}},
		{"pool started after attach", 0x4000, false, func(s *sim, i int) {
			if i == 3 {
				s.spawn(0x4000, 32)
			}
		}},
		{"per-request goroutines living 10-40 s", 0x5000, false, func(s *sim, i int) {
			requestIDs = append(requestIDs, s.spawn(0x5000, 20))
			if len(requestIDs) > 4 { // each batch lives 4 steps
				s.end(requestIDs[len(requestIDs)-5]...)
			}
		}},
		{"fan-out burst draining over a minute", 0x6000, false, func(s *sim, i int) {
			if i == 8 {
				burst = s.spawn(0x6000, 300)
			}
			if i > 8 && len(burst) > 0 { // 50 end every 10 s
				n := min(50, len(burst))
				s.end(burst[:n]...)
				burst = burst[n:]
			}
		}},
	}
}

// TestVerdictScenarios: over 5 minutes of 10 s snapshots with the
// default configuration, both leaks are judged leak (not before the
// minimum window) and no control ever is.
func TestVerdictScenarios(t *testing.T) {
	s := newSim()
	tr := NewTracker(TrackerConfig{}, mustLayout(t), nameSym{})
	sc := scenarios()
	firstLeak := map[uint64]int{}
	for i := 0; i <= 30; i++ {
		for _, c := range sc {
			c.step(s, i)
		}
		tr.Observe(s.snapshot(i))
		for _, sus := range tr.Suspects() {
			if sus.Verdict != VerdictLeak {
				continue
			}
			var c *scenario
			for k := range sc {
				if sus.CreatedBy.Function == fmt.Sprintf("f%x", sc[k].gopc-1) || sus.CreatedBy.Function == fmt.Sprintf("f%x", sc[k].gopc) {
					c = &sc[k]
				}
			}
			if c == nil {
				t.Fatalf("step %d: leak verdict for unknown site %+v", i, sus)
			}
			if !c.leak {
				t.Errorf("step %d: control %q judged leak: %+v", i, c.name, sus.Evidence)
				continue
			}
			if _, ok := firstLeak[c.gopc]; !ok {
				firstLeak[c.gopc] = i
				if float64(i*10) < DefaultMinOldAge.Seconds()+DefaultMinWindow.Seconds() {
					t.Errorf("%q judged leak at %d s, before the overdue age plus the minimum window", c.name, i*10)
				}
				t.Logf("%q: leak after %d s (%+v)", c.name, i*10, sus.Evidence)
			}
		}
	}
	for _, c := range sc {
		if _, ok := firstLeak[c.gopc]; c.leak && !ok {
			t.Errorf("%q: never judged leak", c.name)
		}
	}
	if n := len(tr.gs); n != len(s.alive) {
		t.Errorf("tracking %d goroutines, %d alive: ended ones must be forgotten", n, len(s.alive))
	}
}

func mustLayout(t *testing.T) *Layout {
	l, err := LayoutFor("go1.26.8", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// BenchmarkObserve is the tracker's share of an interval for N waiting
// goroutines of 100 creation sites, 1% of them new each interval.
func BenchmarkObserve(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%dK", n/1000), func(b *testing.B) {
			s := newSim()
			for i := range 100 {
				s.spawn(uint64(0x10000+i*0x1000), n/100)
			}
			tr := NewTracker(TrackerConfig{}, mustLayoutB(b), nameSym{})
			step := 0
			tr.Observe(s.snapshot(step))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				step++
				s.spawn(0x10000, n/100)
				snap := s.snapshot(step)
				b.StartTimer()
				tr.Observe(snap)
				_ = tr.Suspects()
			}
		})
	}
}

func mustLayoutB(b *testing.B) *Layout {
	l, err := LayoutFor("go1.26.8", "amd64")
	if err != nil {
		b.Fatal(err)
	}
	return l
}
