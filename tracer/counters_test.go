package tracer

import (
	"testing"

	"github.com/leakscope/leakscope/bpf"
	"github.com/leakscope/leakscope/snapshot"
)

// TestCounterNames fails when the C counters and their Go names disagree:
// a loss reason or event added to bpf/leakscope.c (and regenerated) without
// a name here, two counters under one name, or arrays whose length is not
// the enum's count.
func TestCounterNames(t *testing.T) {
	if int(bpf.LeakscopeLossReasonLOSS_MAX) != len(lossNames) {
		t.Errorf("enum loss_reason has %d values, lossNames %d", bpf.LeakscopeLossReasonLOSS_MAX, len(lossNames))
	}
	if int(bpf.LeakscopeEventEV_MAX) != len(eventNames) {
		t.Errorf("enum event has %d values, eventNames %d", bpf.LeakscopeEventEV_MAX, len(eventNames))
	}
	checkNames(t, "loss_reason", lossNames[:], snapshot.LossStackReadFailed)
	checkNames(t, "event", eventNames[:])
}

func checkNames(t *testing.T, enum string, names []string, alsoTaken ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, n := range alsoTaken {
		seen[n] = true
	}
	for i, n := range names {
		if n == "" {
			t.Errorf("enum %s value %d has no name", enum, i)
		} else if seen[n] {
			t.Errorf("enum %s: name %q used twice", enum, n)
		}
		seen[n] = true
	}
}

// TestStackDepth: the stack map's value holds StackDepth frames
// (STACK_DEPTH in bpf/leakscope.c); reading it with another length would
// fail or cut stacks.
func TestStackDepth(t *testing.T) {
	spec, err := bpf.LoadLeakscope()
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.Maps[bpf.LeakscopeMapStacks].ValueSize; got != StackDepth*8 {
		t.Errorf("stacks map value is %d bytes, StackDepth %d frames (%d bytes)", got, StackDepth, StackDepth*8)
	}
}
