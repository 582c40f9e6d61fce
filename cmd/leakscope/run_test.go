package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/cgroup"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/report"
)

// TestRun drives `leakscope run` as a CI job would, with real processes:
// a leaking HTTP service under a real load generator fails the job naming
// the leak site (with JUnit XML valid against the schema, GitHub
// annotations and a step summary); the same service without the leak
// passes, and so does the leak when the baseline knows it; a leak in a
// `go test` binary (a child of the go command) is caught; and a non-Go
// command, a missing one, one that exits at once, a failing load and a
// SIGINT each end with the documented status and message, the run's
// cgroup removed and no process of it left. The long cases run side by
// side: most of the time is spent waiting for the detector's minimum
// window (about 1.5 minutes in all).
func TestRun(t *testing.T) {
	testutil.RequireBPF(t)
	if testing.Short() {
		t.Skip("watches for about a minute and a half")
	}
	xmllint := testutil.RequireCommand(t, "xmllint", "libxml2-utils")
	dir := t.TempDir()
	leakscope := buildLeakscope(t, dir)
	service := testutil.Build(t, dir, "leakyservice", "./testdata/leakyservice")
	loadgen := testutil.Build(t, dir, "loadgen", "./testdata/loadgen")
	root := testutil.ModuleRoot(t)
	leakLine := lineOf(t, filepath.Join(root, "testdata/leakyservice/main.go"), "b := make([]byte, n)")

	// loaded runs the service (leaking bytes per request) under loadgen
	// for the detector's minimum window and a margin.
	loaded := func(t *testing.T, leak int, extra ...string) (*lsRun, string) {
		port := testutil.FreePort(t)
		out := t.TempDir()
		args := append([]string{"run", "--interval=2s", "--out", out, "--ready", "log:^listening on ",
			"--load", fmt.Sprintf("%s -url http://127.0.0.1:%d/item -duration 90s -rate 200", loadgen, port)}, extra...)
		args = append(args, "--", service, "-addr", testutil.LoopbackAddr(port), "-leak", strconv.Itoa(leak))
		return startRun(t, leakscope, root, nil, args...), out
	}

	// The long cases start at once and run side by side (t.Parallel would
	// run only GOMAXPROCS of them at a time); the short ones run while
	// they wait, and each is checked in its own subtest.
	ws := t.TempDir()
	summary := filepath.Join(ws, "summary.md")
	junit := filepath.Join(ws, "junit.xml")
	leakPort := testutil.FreePort(t)
	leakOut := t.TempDir()
	leakRun := startRun(t, leakscope, root, []string{"GITHUB_ACTIONS=true", "GITHUB_WORKSPACE=" + root, "GITHUB_STEP_SUMMARY=" + summary},
		"run", "--interval=2s", "--out", leakOut, "--junit", junit, "--ready", fmt.Sprintf("tcp:%d", leakPort),
		"--load", fmt.Sprintf("%s -url http://127.0.0.1:%d/item -duration 90s -rate 200", loadgen, leakPort),
		"--", service, "-addr", testutil.LoopbackAddr(leakPort), "-leak", "2048")
	noLeakRun, noLeakOut := loaded(t, 0)
	// The same leak, known from an earlier run's report: not a failure.
	baseline := filepath.Join(ws, "baseline.json")
	if err := report.WriteJSON(ws, &report.Document{Targets: []report.Target{{PID: 1, Exe: "leakyservice",
		Suspects: []analysis.Suspect{{Function: "main.remember", File: "main.go", Line: 1, Verdict: analysis.VerdictLeak}}}}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(ws, report.SuspectsFile), baseline); err != nil {
		t.Fatal(err)
	}
	knownRun, _ := loaded(t, 2048, "--baseline", baseline)
	goTestOut := t.TempDir()
	goTestRun := startRun(t, leakscope, root, []string{"LEAKYPKG_SECONDS=80", "GODEBUG=gctrace=0"},
		"run", "--interval=2s", "--out", goTestOut, "--memprofilerate=262144", "--", "go", "test", "-count=1", "-v", "./testdata/leakypkg")

	t.Run("non-go", func(t *testing.T) {
		r := startRun(t, leakscope, root, nil, "run", "--duration=3s", "--", "sh", "-c", "sleep 30 & exec sleep 60")
		code := r.wait(t, time.Minute)
		r.checkClean(t)
		se := r.stderr.String()
		// Both sleeps are listed (and sh, if it was seen before it
		// executed sleep).
		seen := regexp.MustCompile(`non-Go processes seen: (.*)`).FindStringSubmatch(se)
		listed := regexp.MustCompile(`not Go programs, not watched \((\d+)\): (.*)`).FindStringSubmatch(r.stdout.String())
		if code != 2 || !strings.Contains(se, "exit status 2: no Go process was watched: the command (sh -c sleep 30 & exec sleep 60) killed by SIGTERM") ||
			seen == nil || strings.Count(seen[1], "sleep (pid ") != 2 || listed == nil || strings.Count(listed[2], "sleep (pid ") != 2 {
			t.Errorf("exit status %d, want 2 listing both sleeps\nstderr:\n%s\nstdout:\n%s", code, se, r.stdout.String())
		}
	})

	t.Run("missing-command", func(t *testing.T) {
		r := startRun(t, leakscope, root, nil, "run", "--", "/nonexistent/leakscope-test-cmd")
		code := r.wait(t, time.Minute)
		r.checkClean(t)
		if code != 2 || !strings.Contains(r.stderr.String(), "leakscope run: command /nonexistent/leakscope-test-cmd: ") || !strings.Contains(r.stderr.String(), "no such file or directory") {
			t.Errorf("exit status %d, want 2\nstderr:\n%s", code, r.stderr.String())
		}
	})

	t.Run("exits-at-once", func(t *testing.T) {
		r := startRun(t, leakscope, root, nil, "run", "--propagate-exit", "--", service, "-addr", "not-an-address")
		code := r.wait(t, time.Minute)
		r.checkClean(t)
		se := r.stderr.String()
		if code != 2 || !strings.Contains(se, "exit status 2: no Go process was watched: the command ("+service+" -addr not-an-address) exit status 1 after") {
			t.Errorf("exit status %d, want 2\nstderr:\n%s", code, se)
		}
	})

	// A load that fails is reported; with --propagate-exit its status is
	// the run's (nothing leaks).
	for _, propagate := range []bool{false, true} {
		t.Run(fmt.Sprintf("failing-load/propagate=%v", propagate), func(t *testing.T) {
			port, closed := testutil.FreePort(t), testutil.FreePort(t)
			args := []string{"run", "--interval=1s", "--ready", fmt.Sprintf("tcp:%d", port),
				// Attached meanwhile: a run must watch a Go process.
				"--load", fmt.Sprintf("sleep 3; %s -url http://127.0.0.1:%d/item -duration 20s || exit 7", loadgen, closed)}
			if propagate {
				args = append(args, "--propagate-exit")
			}
			args = append(args, "--", service, "-addr", testutil.LoopbackAddr(port))
			r := startRun(t, leakscope, root, nil, args...)
			code := r.wait(t, time.Minute)
			r.checkClean(t)
			want := 0
			if propagate {
				want = 7
			}
			se := r.stderr.String()
			if code != want || !strings.Contains(se, fmt.Sprintf("exit status %d: the load failed: exit status 7 after", want)) || !strings.Contains(se, "loadgen: first error:") {
				t.Errorf("exit status %d, want %d\nstderr:\n%s", code, want, se)
			}
		})
	}

	t.Run("sigint", func(t *testing.T) {
		r, _ := loaded(t, 2048)
		load := r.waitStderr(t, regexp.MustCompile(`msg="ready: load started" .* pid=(\d+)`), time.Minute)
		dir := r.cgroupDir(t)
		procs, err := os.ReadFile(filepath.Join(dir, "command", "cgroup.procs"))
		if err != nil || len(strings.Fields(string(procs))) == 0 {
			t.Fatalf("the service is not in the run's cgroup %s: %v %q", dir, err, procs)
		}
		service, _ := strconv.Atoi(strings.Fields(string(procs))[0])
		loadPID, _ := strconv.Atoi(load[1])
		time.Sleep(2 * time.Second)
		if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		code := r.wait(t, time.Minute)
		r.checkClean(t)
		if code != 2 || !strings.Contains(r.stderr.String(), "exit status 2: interrupted by a signal before the run ended") {
			t.Errorf("exit status %d, want 2\nstderr:\n%s", code, r.stderr.String())
		}
		for _, pid := range []int{service, loadPID} {
			if running(pid) {
				t.Errorf("pid %d still running after leakscope exited", pid)
			}
		}
	})
	t.Run("leak", func(t *testing.T) {
		r, out := leakRun, leakOut
		code := r.wait(t, 4*time.Minute)
		r.checkClean(t)
		if code != 1 || !strings.Contains(r.stderr.String(), "exit status 1: leak in pid") || !strings.Contains(r.stderr.String(), "main.remember (main.go:") {
			t.Fatalf("exit status %d, want 1 naming main.remember\nstderr:\n%s\nstdout:\n%s", code, r.stderr.String(), r.stdout.String())
		}
		// GitHub annotations, on the leak site's line, relative to the workspace.
		want := fmt.Sprintf("::error file=testdata/leakyservice/main.go,line=%d,title=leakscope%%3A heap leak::leak at main.remember (main.go:%d)", leakLine, leakLine)
		if !strings.Contains(r.stdout.String(), want) {
			t.Errorf("no annotation %q in stdout:\n%s", want, r.stdout.String())
		}
		// The step summary.
		b, err := os.ReadFile(summary)
		if err != nil || !strings.Contains(string(b), "## leakscope run: leak found (exit status 1)") ||
			!regexp.MustCompile("\\| fail \\| leak \\| `main.remember \\(main.go:[0-9]+\\)` \\|").Match(b) {
			t.Errorf("step summary: %v\n%s", err, b)
		}
		// The JUnit report: valid, with a failure on the site naming the profile.
		x, err := os.ReadFile(junit)
		if err != nil {
			t.Fatal(err)
		}
		validateJUnit(t, xmllint, root, x)
		if !regexp.MustCompile(`<testcase name="main.remember \(main.go:\d+\)" classname="leakscope.heap.leakyservice" time="[0-9.]+">\s*<failure message="leak at main.remember[^"]*growing [^"]*/s[^"]*score [01]\.\d\d" type="leak">`).Match(x) ||
			!strings.Contains(string(x), "profile: "+out) {
			t.Errorf("JUnit report lacks the failing site with its growth, score and profile:\n%s", x)
		}
		// suspects.json and the profile are left as artifacts; the
		// binary has no runtime/pprof, so the runtime ignored GODEBUG's
		// memprofilerate and leakscope set it at attach.
		doc := readDoc(t, out)
		if len(doc.Targets) != 1 || doc.Targets[0].Exe != "leakyservice" || !doc.Targets[0].MemProfileRateSetByLeakscope || doc.Targets[0].Profile == "" {
			t.Errorf("suspects.json: %+v", doc.Targets)
		} else if _, err := os.Stat(doc.Targets[0].Profile); err != nil {
			t.Errorf("profile: %v", err)
		}
	})

	t.Run("no-leak", func(t *testing.T) {
		r, out := noLeakRun, noLeakOut
		code := r.wait(t, 4*time.Minute)
		r.checkClean(t)
		if code != 0 || !strings.Contains(r.stderr.String(), "exit status 0: no leak found") {
			t.Fatalf("exit status %d, want 0\nstderr:\n%s\nstdout:\n%s", code, r.stderr.String(), r.stdout.String())
		}
		doc := readDoc(t, out)
		if len(doc.Targets) != 1 || doc.Targets[0].GCCycles < 8 {
			t.Errorf("want one target watched over 8+ GC cycles: %+v", doc.Targets)
		}
		if !strings.Contains(r.stdout.String(), "loadgen: ") || strings.Contains(r.stdout.String(), " 0 requests ok") {
			t.Errorf("the load did not run:\n%s", r.stdout.String())
		}
	})

	t.Run("known-leak", func(t *testing.T) {
		r := knownRun
		code := r.wait(t, 4*time.Minute)
		r.checkClean(t)
		if code != 0 || !strings.Contains(r.stderr.String(), "heap leak at main.remember (main.go:") || !strings.Contains(r.stderr.String(), "known: in the baseline") {
			t.Fatalf("exit status %d, want 0 with main.remember known\nstderr:\n%s", code, r.stderr.String())
		}
	})

	t.Run("go-test", func(t *testing.T) {
		r, out := goTestRun, goTestOut
		code := r.wait(t, 5*time.Minute)
		r.checkClean(t)
		se := r.stderr.String()
		if code == 2 && strings.Contains(se, "exit status 2: undecided in pid") && strings.Contains(se, "leakypkg.(*cache).put (leak_test.go:") {
			// Seen once in four runs with two of these tests at once on
			// the loaded machine: the tracer counted address_reused
			// (frees missed), so the detector held the leak back to
			// watch and the run says it cannot decide, as documented.
			t.Logf("leak held back (frees may be missing): status 2 naming the site\n%s", se)
		} else if code != 1 || !strings.Contains(se, "leakypkg.(*cache).put (leak_test.go:") {
			t.Fatalf("exit status %d, want 1 naming leakypkg.(*cache).put\nstderr:\n%s\nstdout:\n%s", code, r.stderr.String(), r.stdout.String())
		}
		if !strings.Contains(r.stdout.String(), "--- PASS: TestCache") {
			t.Errorf("the test did not run:\n%s", r.stdout.String())
		}
		// The test binary got its sampling rate from GODEBUG (merged with
		// the user's), not from leakscope writing its memory.
		var bin *report.Target
		doc := readDoc(t, out)
		for i, tg := range doc.Targets {
			if tg.Exe == "leakypkg.test" {
				bin = &doc.Targets[i]
			}
		}
		if bin == nil || bin.MemProfileRate != 262144 || bin.MemProfileRateSetByLeakscope {
			t.Errorf("test binary: %+v, want MemProfileRate 262144 from GODEBUG", bin)
		}
	})

}

// lsRun is one `leakscope run` started by a test.
type lsRun struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
}

func startRun(t *testing.T, bin, dir string, env []string, args ...string) *lsRun {
	t.Helper()
	r := &lsRun{cmd: exec.Command(bin, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	r.cmd.Dir = dir
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// wait returns leakscope's exit status; it kills it (by PID) on timeout.
func (r *lsRun) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("leakscope run did not end within %s\nstderr:\n%s", timeout, r.stderr.String())
	}
	return r.cmd.ProcessState.ExitCode()
}

// cgroupDir is where the run's cgroup is (or was): beside the test's own
// in the cgroup2 hierarchy, named after leakscope's pid.
func (r *lsRun) cgroupDir(t *testing.T) string {
	t.Helper()
	m, err := cgroup.V2Mount()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := cgroup.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	self := "/"
	for _, l := range lines {
		if l.V2() {
			self = strings.TrimPrefix(l.Path, m.Root)
		}
	}
	return filepath.Join(m.Point, filepath.Dir("/"+strings.TrimPrefix(self, "/")), fmt.Sprintf("leakscope-run-%d", r.cmd.Process.Pid))
}

// checkClean fails t if the run's cgroup is still there: the kernel
// removes a cgroup only once no process is left in it.
func (r *lsRun) checkClean(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(r.cgroupDir(t)); !os.IsNotExist(err) {
		procs, _ := os.ReadFile(filepath.Join(r.cgroupDir(t), "command", "cgroup.procs"))
		t.Errorf("the run's cgroup %s is still there (%v); processes: %q", r.cgroupDir(t), err, procs)
	}
	if strings.Contains(r.stderr.String(), "panic") {
		t.Errorf("leakscope panicked:\n%s", r.stderr.String())
	}
}

// waitStderr waits for a line of leakscope's log matching re.
func (r *lsRun) waitStderr(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		sc := bufio.NewScanner(strings.NewReader(r.stderr.String()))
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				return m
			}
		}
		select {
		case <-r.done:
			t.Fatalf("leakscope exited before logging %s\nstderr:\n%s", re, r.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("leakscope did not log %s within %s\nstderr:\n%s", re, timeout, r.stderr.String())
	return nil
}

// running reports whether pid is a live process (not gone, not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func readDoc(t *testing.T, dir string) *report.Document {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, report.SuspectsFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc report.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

func lineOf(t *testing.T, file, text string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, text) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line %q", file, text)
	return 0
}

// validateJUnit checks a JUnit report against cirun's JUnit schema.
func validateJUnit(t *testing.T, xmllint, root string, data []byte) {
	t.Helper()
	cmd := exec.Command(xmllint, "--noout", "--schema", filepath.Join(root, "cirun/testdata/junit.xsd"), "-")
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the JUnit report is not valid JUnit XML: %v\n%s\n%s", err, out, data)
	}
}
