package matrix_test

import (
	"errors"
	"iter"
	"reflect"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/goroutinetest"
	"github.com/leakscope/leakscope/internal/testutil"
)

// TestGoroutineLayouts re-checks the committed runtime.g table against the
// DWARF of every release and architecture of the matrix, and that
// runtime.allgs is found by decoding in stripped builds of each (arm64
// cells cannot run here: this is their goroutine check).
func TestGoroutineLayouts(t *testing.T) {
	work := t.TempDir()
	for _, v := range testutil.Releases {
		for _, arch := range []string{"amd64", "arm64"} {
			b := testutil.GoBuild{Toolchain: v, GOARCH: arch}
			t.Run(b.Name(), func(t *testing.T) {
				bin, err := testutil.BuildEmptyProgram(work, b)
				if errors.Is(err, testutil.ErrToolchain) {
					t.Skipf("%v", err)
				}
				if err != nil {
					t.Fatal(err)
				}
				got, err := goroutines.LayoutFromDWARF(bin)
				if err != nil {
					t.Fatal(err)
				}
				got.Release = testutil.MinorRelease(v)
				want, err := goroutines.LayoutFor(v, arch)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("DWARF:\n%+v\ntable:\n%+v\nregenerate: go run ./goroutines/internal/genlayouts", got, want)
				}
				if err := goroutinetest.CheckStrippedRoots(work, b); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// checkGoroutines: the cell's goroutines are read, and exactly the
// fixture's goroutine leak (created in main.leakGoroutines) is judged leak;
// for a release leakscope does not know, the goroutine part is off, saying
// why, while the heap part goes on (checked by the caller).
func checkGoroutines(c *cell, status, reason string, suspects iter.Seq2[string, string]) {
	if c.unknownGo {
		if status == "watching" || !strings.Contains(reason, "no runtime.g layout") {
			c.failf("goroutines of an unknown release: want the part off for want of a g layout, got %s: %s", status, reason)
		}
		return
	}
	if status != "watching" {
		c.failf("goroutines %s: %s", status, reason)
		return
	}
	found := false
	for fn, verdict := range suspects {
		switch {
		case fn == "main.leakGoroutines" && verdict == "leak":
			found = true
		case verdict == "leak":
			c.failf("goroutines created in %s called a leak", fn)
		}
	}
	if !found {
		c.failf("the goroutine leak created in main.leakGoroutines not called a leak")
	}
}
