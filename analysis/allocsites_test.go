package analysis

import (
	"testing"

	"github.com/leakscope/leakscope/snapshot"
	"github.com/leakscope/leakscope/symbolize"
)

// fakeSym resolves each PC to one frame by table.
type fakeSym map[uint64]symbolize.Frame

func (f fakeSym) Symbolize(pcs []uint64) []symbolize.Frame {
	out := make([]symbolize.Frame, len(pcs))
	for i, pc := range pcs {
		out[i] = f[pc]
	}
	return out
}

// TestAllocSitesGroupsBySourceSite checks that stacks differing only in
// their runtime frames are one site, that sites are ordered by bytes, and
// that max cuts the list.
func TestAllocSitesGroupsBySourceSite(t *testing.T) {
	sym := fakeSym{
		1:  {Function: "runtime.mallocgc"},
		2:  {Function: "runtime.newobject"},
		3:  {Function: "runtime.makeslice"},
		10: {Function: "main.a", File: "/src/a.go", Line: 7},
		11: {Function: "main.b", File: "/src/b.go", Line: 9},
		20: {Function: "main.main", File: "/src/main.go", Line: 3},
	}
	sites := map[int32]*snapshot.AllocSite{
		1: {StackID: 1, PCs: []uint64{1, 2, 10, 20}, Allocs: 5, Bytes: 50},
		2: {StackID: 2, PCs: []uint64{1, 3, 10, 20}, Allocs: 1, Bytes: 1000},
		3: {StackID: 3, PCs: []uint64{1, 2, 11, 20}, Allocs: 100, Bytes: 800},
		4: {StackID: 4, PCs: []uint64{1, 2, 20}, Allocs: 1, Bytes: 1},
	}
	got := AllocSites(sites, sym, 2)
	if len(got) != 2 {
		t.Fatalf("got %d sites, want 2 (max)", len(got))
	}
	if a := got[0]; a.Function != "main.a" || a.Allocs != 6 || a.Bytes != 1050 || a.Line != 7 || len(a.Stack) != 2 || a.Stack[0] != "main.a (a.go:7)" {
		t.Errorf("first site %+v, want main.a with 6 allocations, 1050 bytes, stack [main.a main.main]", a)
	}
	if b := got[1]; b.Function != "main.b" || b.Allocs != 100 || b.Bytes != 800 {
		t.Errorf("second site %+v, want main.b with 100 allocations, 800 bytes", b)
	}
}
