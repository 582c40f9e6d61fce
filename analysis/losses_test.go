package analysis

import (
	"slices"
	"testing"
)

// TestLossesThatHideFreesForbidLeak: the same leak that is judged leak
// with clean counters is at most watch while a loss that can hide frees
// rises, the target says why, and the verdict comes back once the losses
// have left the window.
func TestLossesThatHideFreesForbidLeak(t *testing.T) {
	streams := []stream{churnAt(1, 100e6, 0.1), leakAt(1, 2*mib)}
	const n = 12 // 120 s: the clean run is leak by then (TestLeakDetected)
	for _, reason := range FreeHidingLosses {
		t.Run(reason, func(t *testing.T) {
			clean := newSim(1, 0.25, streams...)
			vs, tg := simRun(clean, Config{}, n, 1)
			if vs[n-1] != VerdictLeak || len(tg.Incomplete()) != 0 {
				t.Fatalf("clean run: verdicts %v, incomplete %v; want leak, none", vs, tg.Incomplete())
			}

			lossy := newSim(1, 0.25, streams...)
			tg = NewTarget(Config{})
			sym := &simSymbolizer{}
			var lost uint64
			for i := range n {
				s := lossy.step()
				lost += uint64(i % 2) // rises now and then, through the window
				s.Losses = map[string]uint64{reason: lost}
				tg.Add(s, sym)
				for _, sp := range tg.Suspects() {
					if sp.Verdict == VerdictLeak {
						t.Fatalf("interval %d: leak verdict while %s rises", i+1, reason)
					}
				}
			}
			if got := tg.Incomplete(); !slices.Equal(got, []string{reason}) {
				t.Errorf("Incomplete() = %v, want [%s]", got, reason)
			}
			sp := tg.Suspects()
			if len(sp) == 0 || sp[0].Verdict != VerdictWatch || !sp[0].Evidence.FreesMayBeMissing {
				t.Errorf("suspects %+v: want the leak as watch with frees_may_be_missing", sp)
			}
		})
	}
}

// TestLossesOutsideWindowForgotten: losses that stopped before the
// evidence window no longer block a verdict.
func TestLossesOutsideWindowForgotten(t *testing.T) {
	s := newSim(1, 0.25, churnAt(1, 100e6, 0.1), leakAt(1, 2*mib))
	tg := NewTarget(Config{})
	sym := &simSymbolizer{}
	var last Verdict
	for i := range 60 { // 10 minutes; the window is 5
		snap := s.step()
		snap.Losses = map[string]uint64{"live_map_full": uint64(min(i, 3))} // rises in the first 30 s only
		tg.Add(snap, sym)
		last = ""
		for _, sp := range tg.Suspects() {
			last = sp.Verdict
		}
	}
	if len(tg.Incomplete()) != 0 || last != VerdictLeak {
		t.Errorf("after the losses left the window: incomplete %v, verdict %q; want none, leak", tg.Incomplete(), last)
	}
}
