package tracer_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/symbolize"
	"github.com/leakscope/leakscope/tracer"
)

// TestProbeSetPerExecutable: processes of one executable share one probe
// set; each still sees only its own events; detaching one leaves the
// others watched, detaching the last removes the probes. A copy of the
// binary (another inode) gets its own set, and a process of the shared
// executable that is not watched adds nothing to the maps.
func TestProbeSetPerExecutable(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	bin := testutil.Build(t, dir, "leaky", "./testdata/leaky")
	cp := filepath.Join(dir, "leaky-copy")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	tr, err := tracer.New(tracer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	const args = "-churn-rate=8388608"
	p1, hooks, a1 := attachFixture(t, tr, bin, "-leak=map", args)
	p2, _, a2 := attachFixture(t, tr, bin, "-leak=none", args)
	p3, _, a3 := attachFixture(t, tr, cp, "-leak=none", args)
	unwatched := testutil.Start(t, bin, "-leak=map", args)
	unwatched.WaitLine(t, "ready", 10*time.Second)
	if n := tr.ProbeSets(); n != 2 {
		t.Fatalf("3 processes of 2 executables: %d probe sets, want 2", n)
	}
	if a1.Executable() != a2.Executable() || a1.Executable() == a3.Executable() {
		t.Errorf("executables: %v %v %v; want the first two equal, the copy apart", a1.Executable(), a2.Executable(), a3.Executable())
	}
	for _, p := range []*testutil.Process{p1, p2, p3, unwatched} {
		sampleEvery(t, p.PID(), hooks, 64*1024) // the copy: same addresses
	}
	time.Sleep(2 * time.Second)
	events := func(pid int) (uint64, bool) {
		t.Helper()
		snaps, err := tr.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		s := snaps[uint32(pid)]
		if s == nil {
			return 0, false
		}
		return s.Events["samples"], true
	}
	for _, p := range []*testutil.Process{p1, p2, p3} {
		if n, ok := events(p.PID()); !ok || n < 10 {
			t.Errorf("pid %d: %d samples (reported %v), want >= 10", p.PID(), n, ok)
		}
	}
	if _, ok := events(unwatched.PID()); ok {
		t.Errorf("the unwatched process of a watched executable is reported")
	}

	if err := a1.Close(); err != nil {
		t.Fatal(err)
	}
	if n := tr.ProbeSets(); n != 2 {
		t.Errorf("after detaching one of two processes of an executable: %d probe sets, want 2", n)
	}
	before, _ := events(p2.PID())
	time.Sleep(time.Second)
	if after, ok := events(p2.PID()); !ok || after <= before {
		t.Errorf("the other process of the executable stopped being seen: %d -> %d alloc probe hits", before, after)
	}
	if _, ok := events(p1.PID()); ok {
		t.Errorf("detached pid %d still reported", p1.PID())
	}
	if err := a2.Close(); err != nil {
		t.Fatal(err)
	}
	if n := tr.ProbeSets(); n != 1 {
		t.Errorf("after detaching every process of an executable: %d probe sets, want 1", n)
	}
	if err := a3.Close(); err != nil {
		t.Fatal(err)
	}
	if n := tr.ProbeSets(); n != 0 {
		t.Errorf("nothing watched: %d probe sets, want 0", n)
	}
	for _, p := range []*testutil.Process{p1, p2, p3, unwatched} {
		if p.Exited() {
			t.Errorf("pid %d died: %q", p.PID(), p.Lines())
		}
	}
}

// sampleEvery sets the MemProfileRate of pid, whose binary has hooks.
func sampleEvery(t *testing.T, pid int, hooks *gobin.Hooks, rate int64) {
	t.Helper()
	proc, err := symbolize.OpenProcess(pid, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (tracer.ProfileRate{PID: uint32(pid), Addr: hooks.MemProfileRateAddr + proc.Bias()}).Set(rate); err != nil {
		t.Fatalf("pid %d: %v", pid, err)
	}
}
