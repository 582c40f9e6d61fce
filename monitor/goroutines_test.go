package monitor

import (
	"slices"
	"testing"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/goroutines"
)

// TestLinkHeapSuspects: a goroutine group is linked to the heap suspects
// allocating in its blocked frames or at its creation site, not others.
func TestLinkHeapSuspects(t *testing.T) {
	gs := []goroutines.Suspect{{
		CreatedBy: goroutines.Site{Function: "main.main"}, StartFunction: "main.main.gowrap1",
		Blocked: []goroutines.Site{{Function: "main.awaitReply"}},
	}}
	heap := []analysis.Suspect{
		{Function: "main.awaitReply", Stack: []string{"main.awaitReply (main.go:29)"}},
		{Function: "runtime.malg", Stack: []string{"runtime.malg (proc.go:5000)", "runtime.newproc1 (proc.go:5100)", "main.main (main.go:55)"}},
		{Function: "main.handleRequest", Stack: []string{"main.handleRequest (main.go:40)", "main.serve (main.go:60)"}},
	}
	linkHeapSuspects(gs, heap)
	if want := []string{"main.awaitReply", "runtime.malg"}; !slices.Equal(gs[0].HeapSuspects, want) {
		t.Errorf("linked %v, want %v", gs[0].HeapSuspects, want)
	}
}

// TestNameGoroutineDescriptors: the runtime.malg heap suspect is named
// after the growing goroutine groups' creation sites (strongest first),
// not after a steady group; other heap suspects and the verdict are left
// alone; a malg stack that reaches user code names only groups created
// there.
func TestNameGoroutineDescriptors(t *testing.T) {
	gs := []goroutines.Suspect{
		{CreatedBy: goroutines.Site{Function: "main.main", File: "/src/main.go", Line: 55}, Verdict: goroutines.VerdictLeak, GrowthPerSecond: 30},
		{CreatedBy: goroutines.Site{Function: "main.serve", File: "/src/serve.go", Line: 12}, Verdict: goroutines.VerdictWatch, GrowthPerSecond: 2},
		{CreatedBy: goroutines.Site{Function: "main.startPool", File: "/src/pool.go", Line: 9}}, // fixed pool
	}
	heap := []analysis.Suspect{
		{Function: "main.awaitReply", Stack: []string{"main.awaitReply (main.go:29)"}, Verdict: analysis.VerdictLeak},
		{Function: "runtime.malg", Stack: []string{"runtime.malg (proc.go:5000)", "runtime.newproc1 (proc.go:5100)", "runtime.systemstack (asm_amd64.s:514)"}, Verdict: analysis.VerdictWatch},
		{Function: "runtime.malg", Stack: []string{"runtime.malg (proc.go:5000)", "runtime.newproc1 (proc.go:5100)", "main.serve (serve.go:12)"}, Verdict: analysis.VerdictLeak},
	}
	nameGoroutineDescriptors(heap, gs)
	if heap[0].GoroutineCreatedBy != nil {
		t.Errorf("main.awaitReply named after goroutines: %v", heap[0].GoroutineCreatedBy)
	}
	if want := []string{"main.main (main.go:55)", "main.serve (serve.go:12)"}; !slices.Equal(heap[1].GoroutineCreatedBy, want) {
		t.Errorf("all-runtime malg: %v, want %v", heap[1].GoroutineCreatedBy, want)
	}
	if want := []string{"main.serve (serve.go:12)"}; !slices.Equal(heap[2].GoroutineCreatedBy, want) {
		t.Errorf("malg reaching main.serve: %v, want %v", heap[2].GoroutineCreatedBy, want)
	}
	if heap[1].Function != "runtime.malg" || heap[1].Verdict != analysis.VerdictWatch || heap[2].Verdict != analysis.VerdictLeak {
		t.Errorf("site or verdict changed: %+v", heap)
	}
	// No growing group (goroutines not read, or all steady): no name.
	nameGoroutineDescriptors(heap, gs[2:])
	if heap[1].GoroutineCreatedBy != nil {
		t.Errorf("named after a steady group: %v", heap[1].GoroutineCreatedBy)
	}
}
