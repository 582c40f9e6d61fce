package goroutines_test

import (
	"testing"

	"github.com/leakscope/leakscope/internal/goroutinetest"
	"github.com/leakscope/leakscope/internal/testutil"
)

// TestCandidateRootsStripped: in a stripped build the decoded candidates
// of runtime.allgadd include the real allgs and allglen (read from the
// symbol table of the same build unstripped), for amd64 and arm64.
func TestCandidateRootsStripped(t *testing.T) {
	work := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		if err := goroutinetest.CheckStrippedRoots(work, testutil.GoBuild{GOARCH: arch}); err != nil {
			t.Error(err)
		}
	}
}
