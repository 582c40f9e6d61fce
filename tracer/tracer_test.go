package tracer_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/snapshot"
	"github.com/leakscope/leakscope/symbolize"
	"github.com/leakscope/leakscope/tracer"
)

// attachFixture starts the leaky fixture, resolves its hooks and attaches.
func attachFixture(t *testing.T, tr *tracer.Tracer, bin string, args ...string) (*testutil.Process, *gobin.Hooks, *tracer.Attachment) {
	t.Helper()
	p := testutil.Start(t, bin, args...)
	p.WaitLine(t, "ready", 10*time.Second)
	hooks := hooksOf(t, p.PID())
	att, err := tr.Attach(uint32(p.PID()), hooks)
	if err != nil {
		t.Fatal(err)
	}
	return p, hooks, att
}

// hooksOf resolves the hooks of the executable pid runs.
func hooksOf(t *testing.T, pid int) *gobin.Hooks {
	t.Helper()
	b, err := gobin.Open(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	hooks, err := b.ResolveHooks()
	if err != nil {
		t.Fatal(err)
	}
	return hooks
}

// TestTracerSeesSampledAllocsAndFrees attaches to a real process and checks
// what the kernel side counted: samples on the leak and churn stacks, frees
// matched on the churn, GC cycles, the stacks and object sizes read from
// the runtime's own profile buckets, and a clean detach.
func TestTracerSeesSampledAllocsAndFrees(t *testing.T) {
	testutil.RequireBPF(t)
	bin := testutil.Build(t, t.TempDir(), "leaky", "./testdata/leaky", "-buildmode=pie")
	tr, err := tracer.New(tracer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	p, hooks, att := attachFixture(t, tr, bin, "-leak=map", "-churn-rate=33554432")

	proc, err := symbolize.OpenProcess(p.PID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rate := tracer.ProfileRate{PID: uint32(p.PID()), Addr: hooks.MemProfileRateAddr + proc.Bias()}
	if old, err := rate.Set(64 * 1024); err != nil || old != 0 {
		t.Fatalf("setting MemProfileRate: old %d, %v", old, err)
	}
	time.Sleep(4 * time.Second)

	// Stopped, the target cannot allocate or free between the reads of
	// the stats and the live maps, so their counts must agree.
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	snaps, err := tr.Snapshot()
	p.Signal(syscall.SIGCONT)
	if err != nil {
		t.Fatal(err)
	}
	s := snaps[uint32(p.PID())]
	if s == nil {
		t.Fatalf("no snapshot for pid %d", p.PID())
	}
	if s.GCCycles < 3 {
		t.Errorf("only %d GC cycles seen", s.GCCycles)
	}
	for _, reason := range []string{"live_map_full", "stats_map_full", "stack_walk_failed", "stack_read_failed", "target_read_failed"} {
		if s.Losses[reason] != 0 {
			t.Errorf("loss %s = %d, want 0", reason, s.Losses[reason])
		}
	}

	bySite := map[string]*snapshot.StackStats{}
	for _, st := range s.Stacks {
		frames := proc.Symbolize(st.PCs)
		if len(frames) < 3 {
			continue
		}
		// The runtime records the stack from the allocator's caller on:
		// none of the profiler's own frames.
		for _, f := range frames[:2] {
			if strings.Contains(f.Function, "profilealloc") || strings.Contains(f.Function, "mProf_Malloc") {
				t.Errorf("stack %d has the profiler's frame %s: %v", st.StackID, f.Function, frames)
			}
		}
		checkStackEnd(t, st.StackID, frames)
		// Key by the allocating user function: the frame right after
		// runtime.makeslice (map growth under leakMap is another stack).
		for i, f := range frames[:len(frames)-1] {
			if f.Function == "runtime.makeslice" {
				site := frames[i+1].Function
				if bySite[site] == nil {
					bySite[site] = &snapshot.StackStats{}
				}
				sum := bySite[site]
				sum.Allocs += st.Allocs
				sum.AllocBytes += st.AllocBytes
				sum.Frees += st.Frees
				sum.FreeBytes += st.FreeBytes
				sum.LiveObjects += st.LiveObjects
				sum.LiveBytes += st.LiveBytes
				for a, n := range st.FreedAge {
					sum.FreedAge[a] += n
				}
				break
			}
		}
	}
	leak, churn := bySite["main.leakMap"], bySite["main.churn"]
	if leak == nil || churn == nil {
		t.Fatalf("stacks of main.leakMap (%v) and main.churn (%v) not both seen", leak != nil, churn != nil)
	}
	if leak.Allocs < 20 || leak.Frees != 0 || leak.LiveObjects != leak.Allocs {
		t.Errorf("leak site: allocs %d frees %d live %d; want >= 20 allocs, all live", leak.Allocs, leak.Frees, leak.LiveObjects)
	}
	if churn.Allocs < 200 || float64(churn.Frees) < 0.9*float64(churn.Allocs) {
		t.Errorf("churn site: allocs %d frees %d; want most freed", churn.Allocs, churn.Frees)
	}
	// Sizes come from the buckets: make([]byte, 1024) and 4096 (testdata/leaky).
	for _, c := range []struct {
		name string
		st   *snapshot.StackStats
		size uint64
	}{{"leak", leak, 1024}, {"churn", churn, 4096}} {
		if c.st.AllocBytes != c.st.Allocs*c.size || c.st.FreeBytes != c.st.Frees*c.size || c.st.LiveBytes != c.st.LiveObjects*c.size {
			t.Errorf("%s site: bytes alloc %d free %d live %d for %d/%d/%d objects; want %d bytes each",
				c.name, c.st.AllocBytes, c.st.FreeBytes, c.st.LiveBytes, c.st.Allocs, c.st.Frees, c.st.LiveObjects, c.size)
		}
	}
	if churn.LiveObjects != churn.Allocs-churn.Frees {
		t.Errorf("churn site: live %d != allocs %d - frees %d", churn.LiveObjects, churn.Allocs, churn.Frees)
	}
	var freedAged uint64
	for _, n := range churn.FreedAge[1:] {
		freedAged += n
	}
	if freedAged == 0 {
		t.Errorf("churn frees all in age bucket 0: %v", churn.FreedAge)
	}

	if err := att.Close(); err != nil {
		t.Fatalf("detach: %v", err)
	}
	snaps, err = tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snaps[uint32(p.PID())]; ok {
		t.Errorf("pid %d still reported after detach", p.PID())
	}
	if p.Exited() {
		t.Fatalf("fixture died while watched: %q", p.Lines())
	}
}

// systemStackEntries are where the runtime's unwinder stops on a thread's
// system stack (g0): the profiler records a stack with callers(), which
// does not jump from g0 back to the goroutine's stack, so an allocation
// made on g0 is recorded from g0's own frames only, ending where g0 was
// entered. Measured on go1.26.8 (runtime.MemProfile of a program whose
// locked threads exit): new Ms for the scheduler (runtime.allocm, malg,
// mcommoninit, makeProfStackFP, newMWeakPointer) under schedule entered
// by runtime.morestack (a preemption: newstack -> gopreempt_m or
// preemptPark), runtime.mcall (park_m) or runtime.mstart (mexit), and
// goroutine creation (malg, allgadd under newproc) under
// runtime.systemstack. rt0_go is the first thread's entry.
var systemStackEntries = map[string]bool{
	"runtime.morestack": true, "runtime.mcall": true, "runtime.systemstack": true,
	"runtime.mstart": true, "runtime.rt0_go": true,
}

// checkStackEnd checks what the runtime guarantees of a recorded stack
// (shorter than its depth limit): code running on a goroutine ends at
// runtime.goexit; an allocation on the system stack ends at the entry to
// it and holds runtime frames only (user code never runs there). Such a
// stack is real, just rare: the fixture's scheduler creates an M now and
// then, and at the test's sampling rate one of its small allocations is
// sampled in some runs (2 of 20 here, both under runtime.morestack: a
// preempted goroutine's newstack -> gopreempt_m -> goschedImpl -> wakep ->
// startm -> newm -> allocm). leakscope names such a stack after what asked
// for memory (runtime.malg, runtime.allocm, runtime.makeProfStackFP).
func checkStackEnd(t *testing.T, id int32, frames []symbolize.Frame) {
	t.Helper()
	last := frames[len(frames)-1].Function
	if last == "runtime.goexit" {
		return
	}
	if !systemStackEntries[last] {
		t.Errorf("stack %d ends at %s, want runtime.goexit or a system-stack entry (a complete stack): %v", id, last, frames)
		return
	}
	for _, f := range frames {
		if !strings.HasPrefix(f.Function, "runtime.") && !strings.HasPrefix(f.Function, "internal/runtime/") {
			t.Errorf("stack %d ends at the system-stack entry %s but holds the non-runtime frame %s: %v", id, last, f.Function, frames)
			return
		}
	}
	t.Logf("stack %d was recorded on the system stack: %v", id, frames)
}
