package monitor

import (
	"testing"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/snapshot"
)

// TestSampledSites: every suspect's oldest sampled objects are named by
// the suspect's function; stacks without a suspect, or missing from the
// snapshot, give nothing.
func TestSampledSites(t *testing.T) {
	stacks := map[int32]*snapshot.StackStats{
		1: {Oldest: []snapshot.LiveSample{{Addr: 0x1000}, {Addr: 0x2000}}},
		2: {Oldest: []snapshot.LiveSample{{Addr: 0x3000}}},
		3: {Oldest: []snapshot.LiveSample{{Addr: 0x4000}}},
	}
	suspects := []analysis.Suspect{
		{Function: "main.newSession", StackIDs: []int32{1}},
		{Function: "main.newBox", StackIDs: []int32{2, 9}},
	}
	got := sampledSites(suspects, stacks)
	want := map[uint64]string{0x1000: "main.newSession", 0x2000: "main.newSession", 0x3000: "main.newBox"}
	if len(got) != len(want) {
		t.Fatalf("sites %v, want %v", got, want)
	}
	for a, f := range want {
		if got[a] != f {
			t.Errorf("%#x: %q, want %q", a, got[a], f)
		}
	}
}
