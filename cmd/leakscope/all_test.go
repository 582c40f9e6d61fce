package main_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
)

// TestAllGoProcesses runs --all over 21 Go processes of 3 executables
// (10, 6 and 5 processes, one started during the watch), a non-Go process
// and leakscope itself, all in
// one test cgroup that scopes --all (--within-cgroup) so that the host's
// own processes are never touched. Every Go process is watched, with one
// probe set per executable; the two leaking ones are found with verdict
// leak, no other process gets one; the non-Go process and leakscope are
// not targets.
func TestAllGoProcesses(t *testing.T) {
	testutil.RequireBPF(t)
	if testing.Short() {
		t.Skip("watches for a minute")
	}
	t.Parallel()
	dir := t.TempDir()
	leakscope := buildLeakscope(t, dir)
	exeA := testutil.Build(t, dir, "leaky-a", "./testdata/leaky")
	exeB := testutil.Build(t, dir, "leaky-b", "./testdata/leaky", "-buildmode=pie")
	exeC := filepath.Join(dir, "leaky-c") // a copy of A: another inode
	b, err := os.ReadFile(exeA)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exeC, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cgDir, cgPath := testCgroups(t)

	const run = "100s" // outlives the watch, then exits on its own
	light := []string{"-leak=none", "-churn-rate=1048576", "-duration=" + run}
	type fixture struct {
		p        *testutil.Process
		leakFunc string
	}
	var fixtures []fixture
	start := func(bin, leakFunc string, args ...string) {
		p := testutil.Start(t, bin, args...)
		p.WaitLine(t, "ready", 10*time.Second)
		moveToCgroup(t, cgDir, p.PID())
		fixtures = append(fixtures, fixture{p, leakFunc})
	}
	start(exeA, "main.leakMap", "-leak=map", "-churn-rate=16777216", "-duration="+run)
	start(exeB, "main.leakSlice", "-leak=slice", "-churn-rate=16777216", "-duration="+run)
	for range 9 {
		start(exeA, "", light...)
	}
	for range 5 {
		start(exeB, "", light...)
	}
	for range 4 {
		start(exeC, "", light...)
	}
	sleep := testutil.Start(t, "/bin/sleep", "120")
	moveToCgroup(t, cgDir, sleep.PID())

	out := filepath.Join(dir, "out")
	began := time.Now()
	ls := testutil.Start(t, leakscope, "--all", "--within-cgroup", cgPath, "--interval=5s", "--duration=70s", "--out", out)
	moveToCgroup(t, cgDir, ls.PID()) // in scope: it must pass over itself
	// A process that starts during the watch is picked up too.
	time.Sleep(3 * time.Second)
	start(exeC, "", light...)
	if err := ls.Wait(t, 100*time.Second); err != nil {
		t.Fatalf("leakscope: %v", err)
	}
	t.Logf("watched %d processes for %v", len(fixtures), time.Since(began))

	doc := readSuspects(t, filepath.Join(out, "suspects.json"))
	if len(doc.Targets) != len(fixtures) {
		t.Errorf("%d targets, want the %d Go processes", len(doc.Targets), len(fixtures))
	}
	if doc.ProbeSets != 3 {
		t.Errorf("probe_sets %d, want 3 (one per executable)", doc.ProbeSets)
	}
	if len(doc.Skipped) != 0 {
		t.Errorf("skipped under --all: %+v (non-Go programs pass silently)", doc.Skipped)
	}
	for _, tg := range doc.Targets {
		if tg.PID == ls.PID() || tg.PID == sleep.PID() {
			t.Errorf("watched pid %d (%s): leakscope itself or the non-Go process", tg.PID, tg.Exe)
		}
	}
	for _, f := range fixtures {
		k, found := targetOf(doc, f.p.PID())
		if !found {
			t.Errorf("pid %d not watched", f.p.PID())
			continue
		}
		tg := doc.Targets[k]
		if tg.Status != "watching" || tg.SampledAllocs == 0 || tg.Cgroup != cgPath {
			t.Errorf("pid %d: status %s, %d sampled allocations, cgroup %q", tg.PID, tg.Status, tg.SampledAllocs, tg.Cgroup)
		}
		leak := ""
		for _, s := range tg.Suspects {
			if s.Verdict == "leak" {
				leak = s.Function
				break
			}
		}
		if leak != f.leakFunc {
			t.Errorf("pid %d (%s): first leak verdict on %q, want %q; %d GC cycles, suspects %+v", tg.PID, tg.Exe, leak, f.leakFunc, tg.GCCycles, tg.Suspects)
		}
		if f.p.Exited() {
			t.Errorf("pid %d died while watched", f.p.PID())
		}
	}
}
