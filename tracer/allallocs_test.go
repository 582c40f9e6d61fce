package tracer_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/symbolize"
	"github.com/leakscope/leakscope/tracer"
)

// TestAllAllocsCountsExactly attaches the every-allocation probe to a
// target that allocates exactly n 48-byte objects in main.allocSite per
// SIGUSR1, and checks the per-stack counts are exact: n, then 2n, with
// 48 bytes each. Built with the machine's Go (1.24+: mallocgc dispatches
// to size-class variants) and with Go 1.23 (one monolithic mallocgc).
func TestAllAllocsCountsExactly(t *testing.T) {
	testutil.RequireBPF(t)
	for _, tc := range []struct{ name, toolchain string }{
		{"go-default", ""},
		{"go1.23", "go1.23.12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bin string
			if tc.toolchain == "" {
				bin = testutil.Build(t, t.TempDir(), "allocsite", "./testdata/allocsite")
			} else {
				bin = buildWithToolchain(t, "testdata/allocsite/main.go", tc.toolchain)
			}
			allAllocsCountsExactly(t, bin)
		})
	}
}

func allAllocsCountsExactly(t *testing.T, bin string) {
	const n = 100000
	tr, err := tracer.New(tracer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	p, _, att := attachFixture(t, tr, bin, fmt.Sprintf("-n=%d", n))
	b, err := gobin.Open(fmt.Sprintf("/proc/%d/exe", p.PID()))
	if err != nil {
		t.Fatal(err)
	}
	malloc, err := b.Hook(tracer.MallocHookName)
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	if malloc.AttachAddr == malloc.Func.Entry {
		t.Fatalf("mallocgc probe at its entry (%s): want after the prologue", malloc.Why)
	}
	if err := att.AttachAllAllocs(malloc); err != nil {
		t.Fatal(err)
	}
	proc, err := symbolize.OpenProcess(p.PID(), nil)
	if err != nil {
		t.Fatal(err)
	}

	for round := 1; round <= 2; round++ {
		if err := p.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		p.WaitLine(t, fmt.Sprintf("allocated %d", round*n), 30*time.Second)
		snaps, err := tr.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		s := snaps[uint32(p.PID())]
		if s == nil {
			t.Fatalf("no snapshot for pid %d", p.PID())
		}
		for _, reason := range []string{"alloc_counts_full", "stack_walk_failed", "stack_collision"} {
			if s.Losses[reason] != 0 {
				t.Errorf("loss %s = %d, want 0", reason, s.Losses[reason])
			}
		}
		var allocs, bytes, all uint64
		for _, site := range s.AllocSites {
			all += site.Allocs
			frames := proc.Symbolize(site.PCs)
			// Innermost first: runtime.mallocgc, unless a stack-map
			// collision made the kernel skip it (see user_stack_id).
			if len(frames) > 0 && frames[0].Function != "runtime.mallocgc" && frames[0].Function != "runtime.newobject" {
				t.Errorf("stack %d starts at %s, want runtime.mallocgc", site.StackID, frames[0].Function)
			}
			// new(object) itself, not what the runtime allocated for its
			// own use meanwhile (a GC starting its mark workers).
			for i := 0; i+1 < len(frames) && i < 2; i++ {
				if frames[i].Function == "runtime.newobject" && frames[i+1].Function == "main.allocSite" {
					allocs += site.Allocs
					bytes += site.Bytes
				}
			}
		}
		if want := uint64(round * n); allocs != want || bytes != 48*want {
			t.Errorf("round %d: main.allocSite: %d allocations, %d bytes; want exactly %d and %d", round, allocs, bytes, want, 48*want)
		}
		if got := s.Events["mallocs"]; got != all {
			t.Errorf("round %d: mallocs event %d != sum over sites %d", round, got, all)
		}
	}
	if p.Exited() {
		t.Fatalf("fixture died while watched: %q", p.Lines())
	}
}

// buildWithToolchain builds the one-file program src (relative to the
// module root) in a module of its own with another Go release, from the
// module cache or the module proxy (GOTOOLCHAIN).
func buildWithToolchain(t *testing.T, src, toolchain string) string {
	t.Helper()
	dir := t.TempDir()
	code, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), src))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), code, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module fixture\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "fixture")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain, "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s with %s: %v\n%s", src, toolchain, err, msg)
	}
	return out
}
