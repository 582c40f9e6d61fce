package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/leakscope/leakscope/internal/testutil"
)

// suspectsDoc is the suspects.json contract, spelled out independently of
// the report package so that a rename there breaks this test.
type suspectsDoc struct {
	GeneratedAt string `json:"generated_at"`
	Targets     []struct {
		PID            int               `json:"pid"`
		HostPID        int               `json:"host_pid"`
		NSPID          int               `json:"ns_pid"`
		ContainerID    string            `json:"container_id"`
		Cgroup         string            `json:"cgroup"`
		Status         string            `json:"status"`
		Exe            string            `json:"exe"`
		GoVersion      string            `json:"go_version"`
		MemProfileRate int64             `json:"memprofilerate"`
		GCCycles       uint64            `json:"gc_cycles"`
		SampledAllocs  uint64            `json:"sampled_allocs"`
		SampledFrees   uint64            `json:"sampled_frees"`
		Lost           map[string]uint64 `json:"lost"`
		Incomplete     []string          `json:"incomplete"`
		Notes          []string          `json:"notes"`
		Cost           *costDoc          `json:"cost"`
		Suspects       []struct {
			Function    string         `json:"function"`
			File        string         `json:"file"`
			Line        int            `json:"line"`
			Stack       []string       `json:"stack"`
			LiveBytes   float64        `json:"live_bytes"`
			LiveObjects float64        `json:"live_objects"`
			Growth      float64        `json:"growth_bytes_per_second"`
			MedianAge   float64        `json:"median_age_gc_cycles"`
			Score       float64        `json:"score"`
			Verdict     string         `json:"verdict"`
			Reason      string         `json:"reason"`
			RetainedBy  *retainedByDoc `json:"retained_by"`
		} `json:"suspects"`
	} `json:"targets"`
	ProbeSets int `json:"probe_sets"`
	Skipped   []struct {
		PID         int    `json:"pid"`
		Exe         string `json:"exe"`
		ContainerID string `json:"container_id"`
		Reason      string `json:"reason"`
	} `json:"skipped"`
}

func buildLeakscope(t *testing.T, dir string) string {
	return testutil.Build(t, dir, "leakscope", "./cmd/leakscope")
}

// TestWatchFindsLeaks is the core promise, end to end: attach to running,
// unmodified Go processes (normal, PIE and stripped builds), and within
// 90 s name the leaking call site first, with verdict leak, while the
// harmless churn is never called a leak.
func TestWatchFindsLeaks(t *testing.T) {
	testutil.RequireBPF(t)
	if testing.Short() {
		t.Skip("watches for a minute")
	}
	dir := t.TempDir()
	leakscope := buildLeakscope(t, dir)
	kinds := []struct {
		name string
		args []string
	}{
		{"default", nil},
		{"pie", []string{"-buildmode=pie"}},
		{"stripped", []string{"-ldflags=-s -w"}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			bin := testutil.Build(t, t.TempDir(), "leaky-"+k.name, "./testdata/leaky", k.args...)
			// The map's own tables, freed after a few collections, push
			// its overdue age and so its verdict past the least window
			// (50 s) as its heap, and the GC interval, grows: 55-70 s
			// here, later on a loaded machine. The fixtures outlive the
			// watch, then exit on their own.
			const run, watch = "110s", "90s"
			mapLeak := testutil.Start(t, bin, "-leak=map", "-churn-rate=16777216", "-duration="+run)
			sliceLeak := testutil.Start(t, bin, "-leak=slice", "-churn-rate=16777216", "-duration="+run)
			churnOnly := testutil.Start(t, bin, "-leak=none", "-churn-rate=16777216", "-duration="+run)
			for _, p := range []*testutil.Process{mapLeak, sliceLeak, churnOnly} {
				p.WaitLine(t, "ready", 10*time.Second)
			}

			out := t.TempDir()
			cmd := exec.Command(leakscope, "--pid", strconv.Itoa(mapLeak.PID()), "--pid", strconv.Itoa(sliceLeak.PID()),
				"--pid", strconv.Itoa(churnOnly.PID()), "--interval=5s", "--duration="+watch, "--out", out)
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("leakscope: %v\n%s", err, b)
			}
			t.Logf("leakscope output:\n%s", b)

			doc := readSuspects(t, filepath.Join(out, "suspects.json"))
			if len(doc.Targets) != 3 {
				t.Fatalf("want 3 targets in suspects.json, got %d", len(doc.Targets))
			}
			for _, tc := range []struct {
				p        *testutil.Process
				leakFunc string
				holder   string // the global that retains the leak
			}{{mapLeak, "main.leakMap", "main.cache"}, {sliceLeak, "main.leakSlice", "main.global"}, {churnOnly, "", ""}} {
				tgt := doc.Targets[indexOfPID(t, doc, tc.p.PID())]
				if tgt.SampledAllocs < 50 {
					t.Errorf("pid %d: only %d sampled allocations seen", tgt.PID, tgt.SampledAllocs)
				}
				if tgt.MemProfileRate != 512*1024 {
					t.Errorf("pid %d: memprofilerate %d, want 524288 set by auto", tgt.PID, tgt.MemProfileRate)
				}
				if tgt.GCCycles < 10 {
					t.Errorf("pid %d: only %d GC cycles seen", tgt.PID, tgt.GCCycles)
				}
				for _, s := range tgt.Suspects {
					if s.Function == "main.churn" && s.Verdict == "leak" {
						t.Errorf("pid %d: harmless churn called a leak: %+v", tgt.PID, s)
					}
				}
				if tc.leakFunc == "" {
					for _, s := range tgt.Suspects {
						if s.Verdict == "leak" {
							t.Errorf("pid %d (no leak): false leak verdict on %s", tgt.PID, s.Function)
						}
					}
					continue
				}
				if len(tgt.Suspects) == 0 {
					t.Fatalf("pid %d: no suspects; want %s", tgt.PID, tc.leakFunc)
				}
				top := tgt.Suspects[0]
				if top.Function != tc.leakFunc || top.Verdict != "leak" {
					t.Errorf("pid %d: top suspect %s (%s: %s), want %s (leak)", tgt.PID, top.Function, top.Verdict, top.Reason, tc.leakFunc)
				}
				if top.Growth <= 0 || top.LiveBytes <= 0 || !strings.HasSuffix(top.File, "leaky/main.go") || top.Line == 0 {
					t.Errorf("pid %d: implausible leak suspect %+v", tgt.PID, top)
				}
				checkProfile(t, out, tc.p.PID(), tc.leakFunc)
				checkRetainedBy(t, tgt.PID, top.RetainedBy, tc.holder, k.name == "stripped")
			}
			checkChurnFreed(t, out, churnOnly.PID())

			// Detached: every fixture keeps running and exits 0 on its own.
			for _, p := range []*testutil.Process{mapLeak, sliceLeak, churnOnly} {
				if err := p.Wait(t, 60*time.Second); err != nil {
					t.Errorf("fixture pid %d after detach: %v (output %q)", p.PID(), err, p.Lines())
				}
			}
		})
	}
}

// retainedByDoc is a suspect's retained_by in suspects.json.
type retainedByDoc struct {
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	Searched int    `json:"searched"`
	Paths    []struct {
		Root       string `json:"root"`
		Summary    string `json:"summary"`
		Samples    int    `json:"samples"`
		Confidence string `json:"confidence"`
		Hops       []struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"hops"`
	} `json:"paths"`
}

// checkRetainedBy: the leak's sampled objects are traced to the global
// that keeps them, first path first; a stripped binary names it by its
// segment offset.
func checkRetainedBy(t *testing.T, pid int, r *retainedByDoc, holder string, stripped bool) {
	t.Helper()
	if r == nil {
		t.Errorf("pid %d: leak suspect without retained_by", pid)
		return
	}
	if r.Status != "found" || len(r.Paths) == 0 {
		t.Errorf("pid %d: retained_by %s (%s), %d samples searched, no path", pid, r.Status, r.Reason, r.Searched)
		return
	}
	p := r.Paths[0]
	t.Logf("pid %d: held by %s (%d of %d samples, %s)", pid, p.Summary, p.Samples, r.Searched, p.Confidence)
	if len(p.Hops) < 2 || p.Hops[0].Kind != "global" || p.Hops[len(p.Hops)-1].Kind != "leaked" {
		t.Errorf("pid %d: first path %+v, want a global first and the leaked object last", pid, p)
	}
	switch {
	case stripped && !strings.HasPrefix(p.Root, ".bss+") && !strings.HasPrefix(p.Root, ".data+"):
		t.Errorf("pid %d (stripped): root %q, want a segment offset", pid, p.Root)
	case !stripped && p.Root != holder:
		t.Errorf("pid %d: root %q, want %s", pid, p.Root, holder)
	}
}

func readSuspects(t *testing.T, path string) suspectsDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc suspectsDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if _, err := time.Parse(time.RFC3339, doc.GeneratedAt); err != nil {
		t.Errorf("generated_at %q: %v", doc.GeneratedAt, err)
	}
	return doc
}

func indexOfPID(t *testing.T, doc suspectsDoc, pid int) int {
	t.Helper()
	for i, tg := range doc.Targets {
		if tg.PID == pid {
			return i
		}
	}
	t.Fatalf("pid %d missing from suspects.json", pid)
	return -1
}

// latestProfile returns the newest leak profile written for pid.
func latestProfile(t *testing.T, out string, pid int) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(out, strconv.Itoa(pid), "leak-*.pb.gz"))
	if len(files) == 0 {
		t.Fatalf("no leak profile written for pid %d", pid)
	}
	return files[len(files)-1] // timestamps sort lexically
}

// checkProfile parses the leak profile and asks `go tool pprof -top`, as a
// user would, which function holds the most: it must be the leak.
func checkProfile(t *testing.T, out string, pid int, leakFunc string) {
	t.Helper()
	path := latestProfile(t, out, pid)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var types []string
	for _, st := range p.SampleType {
		types = append(types, st.Type+"/"+st.Unit)
	}
	for _, want := range []string{"inuse_objects/count", "inuse_space/bytes", "alloc_objects/count", "alloc_space/bytes"} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Errorf("%s: sample types %v lack %s", path, types, want)
		}
	}
	top, err := exec.Command("go", "tool", "pprof", "-top", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof -top %s: %v\n%s", path, err, top)
	}
	if first := firstTopRow(string(top)); !strings.HasSuffix(first, leakFunc) {
		t.Errorf("go tool pprof -top: first row %q, want %s\n%s", first, leakFunc, top)
	}
}

// firstTopRow returns the first function row of `pprof -top` output.
func firstTopRow(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, "flat%") && i+1 < len(lines) {
			return strings.TrimSpace(lines[i+1])
		}
	}
	return ""
}

// checkChurnFreed: of the churn's sampled objects, at least 95% must have
// been seen freed (the rest are the few allocated since the last GC).
func checkChurnFreed(t *testing.T, out string, pid int) {
	t.Helper()
	p := latestProfile(t, out, pid)
	allocs, inuse, err := testutil.SiteCounts(p, "main.churn")
	if err != nil {
		t.Fatal(err)
	}
	if allocs == 0 {
		t.Fatalf("no churn samples in %s", p)
	}
	if freed := 1 - float64(inuse)/float64(allocs); freed < 0.95 {
		t.Errorf("only %.1f%% of churn samples freed (%d live of %d)", 100*freed, inuse, allocs)
	}
}
