package reliability

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/internal/hooktest"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/tracer"
)

// churnCycles is the attach/detach cycles of TestAttachDetachChurn: 200 in
// CI, LEAKSCOPE_CHURN_CYCLES (1000 in make soak) otherwise.
func churnCycles(t *testing.T) int {
	if v := os.Getenv("LEAKSCOPE_CHURN_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("LEAKSCOPE_CHURN_CYCLES=%q: want a number >= 10", v)
		}
		return n
	}
	return 200
}

// startTarget starts the leaky fixture, allocating hard, and resolves its
// hooks and MemProfileRate.
func startTarget(t *testing.T, args ...string) (*testutil.Process, *gobin.Hooks, tracer.ProfileRate) {
	t.Helper()
	bin := testutil.Build(t, t.TempDir(), "leaky", "./testdata/leaky")
	p := testutil.Start(t, bin, args...)
	p.WaitLine(t, "ready", 10*time.Second)
	hooks, rate := hooktest.Resolve(t, p.PID())
	return p, hooks, rate
}

// reloadEvery: TestAttachDetachChurn loads a new tracer every so many
// cycles (loading is most of a cycle's time: the verifier).
const reloadEvery = 10

// TestAttachDetachChurn attaches, snapshots and detaches over and over,
// loading and closing a whole tracer every reloadEvery cycles, against one live target under allocation load.
// The target must keep running and printing; afterwards none of the
// BPF programs, maps, links or uprobes any cycle made is left in the
// kernel, and this process's descriptors and memory have not grown.
func TestAttachDetachChurn(t *testing.T) {
	testutil.RequireBPF(t)
	cycles := churnCycles(t)
	p, hooks, rate := startTarget(t, "-leak=map", "-leak-rate=1048576", "-churn-rate=67108864")
	if _, err := rate.Set(64 * 1024); err != nil { // many samples: every probe fires every cycle
		t.Fatal(err)
	}
	opts := tracer.Options{LiveObjects: 4096, StackSlots: 1024, StackStats: 1024, Targets: 16}

	progsBefore, mapsBefore := leakscopeObjectsInKernel()
	before := readOwned(t)
	var heapWarm, rssWarm uint64
	var samples uint64
	var attachTime, detachTime time.Duration
	lastLines, lastProgress, worstStall := len(p.Lines()), time.Now(), time.Duration(0)
	start := time.Now()
	var tr *tracer.Tracer
	defer func() {
		if tr != nil {
			tr.Close()
		}
	}()
	for i := range cycles {
		// A whole new tracer (programs and maps loaded) every
		// reloadEvery cycles; in between, attach and detach only.
		if i%reloadEvery == 0 {
			if tr != nil {
				if err := tr.Close(); err != nil {
					t.Fatalf("cycle %d: closing the tracer: %v", i, err)
				}
			}
			var err error
			if tr, err = tracer.New(opts); err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
		}
		t0 := time.Now()
		att, err := tr.Attach(uint32(p.PID()), hooks)
		attachTime += time.Since(t0)
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		time.Sleep(20 * time.Millisecond) // let the probes fire
		snaps, err := tr.Snapshot()
		if err != nil {
			t.Fatalf("cycle %d: snapshot: %v", i, err)
		}
		if s := snaps[uint32(p.PID())]; s != nil {
			samples += s.Events["samples"]
		}
		if i == 0 {
			attached := readOwned(t)
			t.Logf("while attached: %v", attached)
			if len(attached.progs) == 0 || attached.fds["[perf_event]"] == 0 && attached.fds["bpf_link"] == 0 {
				t.Fatalf("no BPF program or uprobe seen among this process's fds while attached: %v", attached)
			}
			defer func() {
				if left := stillInKernel(attached, 5*time.Second); len(left) > 0 {
					t.Errorf("after the churn the kernel still holds objects of the first cycle: %v", left)
				}
			}()
		}
		t0 = time.Now()
		if err := att.Close(); err != nil {
			t.Fatalf("cycle %d: detach: %v", i, err)
		}
		detachTime += time.Since(t0)
		if i == cycles-1 {
			if err := tr.Close(); err != nil {
				t.Fatalf("closing the tracer: %v", err)
			}
			tr = nil
		}
		if p.Exited() {
			t.Fatalf("cycle %d: the target died: %q", i, p.Lines())
		}
		if n := len(p.Lines()); n != lastLines {
			lastLines, lastProgress = n, time.Now()
		} else if d := time.Since(lastProgress); d > worstStall {
			worstStall = d
		}
		if i == reloadEvery-1 { // warmed up: caches, the runtime's own pools
			runtime.GC()
			heapWarm, rssWarm = heapInUse(), rssBytes(t)
		}
	}
	took := time.Since(start)
	runtime.GC()
	after, heapAfter, rssAfter := readOwned(t), heapInUse(), rssBytes(t)
	progsAfter, mapsAfter := leakscopeObjectsInKernel()

	t.Logf("churn: %d cycles in %v (%.0f ms/cycle), %d probe hits seen", cycles, took.Round(time.Millisecond), float64(took.Milliseconds())/float64(cycles), samples)
	t.Logf("churn: attach %v per cycle, detach %v per cycle", attachTime/time.Duration(cycles), detachTime/time.Duration(cycles))
	t.Logf("churn: own %v before, %v after", before, after)
	t.Logf("churn: heap in use %d KiB after %d cycles, %d KiB after %d; RSS %d KiB -> %d KiB", heapWarm>>10, reloadEvery, heapAfter>>10, cycles, rssWarm>>10, rssAfter>>10)
	t.Logf("churn: host-wide leakscope-named BPF programs %d -> %d, maps %d -> %d (other leakscope processes included)", progsBefore, progsAfter, mapsBefore, mapsAfter)
	t.Logf("churn: target printed its heartbeat throughout; longest gap seen %v", worstStall.Round(time.Millisecond))

	if samples == 0 {
		t.Error("no probe hit in any cycle: the churn attached nothing")
	}
	// A descriptor of the test process itself may close meanwhile ("other"
	// fell by one under load): only growth, or any kernel object left, is a leak.
	if after.total() > before.total() || after.total()-after.fds["other"] != before.total()-before.fds["other"] {
		t.Errorf("descriptors grew: %v before, %v after", before, after)
	}
	if heapAfter > heapWarm+8<<20 {
		t.Errorf("heap grew from %d KiB to %d KiB over %d cycles", heapWarm>>10, heapAfter>>10, cycles-reloadEvery)
	}
	if worstStall > 5*time.Second {
		t.Errorf("the target printed nothing for %v: stalled", worstStall)
	}
	if n := uprobeEvents(p.Cmd.Path); n != 0 {
		t.Errorf("%d tracefs uprobe events still name the target", n)
	}
	if _, err := rate.Set(0); err != nil {
		t.Errorf("restoring MemProfileRate: %v", err)
	}
	if p.Exited() {
		t.Fatalf("the target died: %q", p.Lines())
	}
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
