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
