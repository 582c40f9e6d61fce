package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/hooktest"
	"github.com/leakscope/leakscope/internal/testutil"
)

// runLeakscope runs the binary and returns its exit code and output.
func runLeakscope(t *testing.T, bin string, cred *syscall.Credential, args ...string) (int, string) {
	t.Helper()
	return testutil.Run(t, bin, cred, args...)
}

// wantCleanError checks a failure is a short, clear message, not a panic.
var goroutineTrace = regexp.MustCompile(`goroutine [0-9]+ \[`)

func wantCleanError(t *testing.T, code int, out, want string) {
	t.Helper()
	if code == 0 {
		t.Errorf("exit code 0, want non-zero; output:\n%s", out)
	}
	// A Go crash prints "goroutine 1 [running]:"; leakscope's own
	// messages speak of goroutines too.
	if strings.Contains(out, "panic") || goroutineTrace.MatchString(out) {
		t.Errorf("output looks like a crash:\n%s", out)
	}
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

func TestBadFlags(t *testing.T) {
	bin := buildLeakscope(t, t.TempDir())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no target"},
		{[]string{"--pid", "0"}, "not a process id"},
		{[]string{"--pid", "abc"}, "invalid argument"},
		{[]string{"--pid", "4294998657"}, "not a process id"},
		{[]string{"--pid", "1", "--memprofilerate", "fast"}, "want auto, keep, or a byte count"},
		{[]string{"--pid", "1", "--interval", "1ms"}, "at least 100ms"},
		{[]string{"--pid", "1", "stray"}, "unexpected argument"},
		{[]string{"--pid", "1", "--max-live-objects", "0"}, "--max-live-objects 0: must be at least 1"},
		{[]string{"--pid", "1", "--max-stacks", "-1"}, "invalid argument"},
		{[]string{"--pid", "1", "--duration", "-5s"}, "must not be negative"},
		{[]string{"--pid", "1", "--keep-profiles", "0"}, "at least 1"},
		{[]string{"--pid", "1", "--memprofilerate", "2000000000"}, "want auto, keep, or a byte count"},
		{[]string{"--pid", "1", "--mode", "every"}, "want sampled or all-allocs"},
		{[]string{"--pid", "1", "--retention-budget", "1ms"}, "--retention-budget 1ms: must be at least 10ms"},
	} {
		code, out := runLeakscope(t, bin, nil, tc.args...)
		if code != 2 {
			t.Errorf("%v: exit code %d, want 2 (usage error)", tc.args, code)
		}
		wantCleanError(t, code, out, tc.want)
	}
}

func TestBadTargets(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	bin := buildLeakscope(t, dir)

	t.Run("no such pid", func(t *testing.T) {
		pid := 4194303 // the highest possible pid; pick a free one below it
		for ; pid > 1; pid-- {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
				break
			}
		}
		code, out := runLeakscope(t, bin, nil, "--pid", strconv.Itoa(pid), "--duration=1s")
		wantCleanError(t, code, out, fmt.Sprintf("no such process: pid %d", pid))
	})
	t.Run("not a Go program", func(t *testing.T) {
		sleep := testutil.Start(t, "/bin/sleep", "60")
		code, out := runLeakscope(t, bin, nil, "--pid", strconv.Itoa(sleep.PID()), "--duration=1s")
		wantCleanError(t, code, out, "not a Go binary")
	})
	t.Run("not privileged", func(t *testing.T) {
		// A target owned by nobody, watched by nobody: no BPF, no ptrace.
		shared := testutil.SharedTempDir(t)
		fixture := testutil.Build(t, shared, "leaky", "./testdata/leaky")
		unprivileged := testutil.Build(t, shared, "leakscope", "./cmd/leakscope")
		nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
		target := exec.Command(fixture, "-leak=none")
		target.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
		if err := target.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = target.Process.Kill(); _ = target.Wait() })
		time.Sleep(200 * time.Millisecond)
		code, out := runLeakscope(t, unprivileged, nobody, "--pid", strconv.Itoa(target.Process.Pid), "--duration=1s")
		wantCleanError(t, code, out, "CAP_BPF")
	})
}

// TestTargetExitsWhileWatched: a target that ends, by itself or killed,
// is reported once more (status exited) and leakscope ends with exit 0.
func TestTargetExitsWhileWatched(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	bin := buildLeakscope(t, dir)
	fixture := testutil.Build(t, dir, "leaky", "./testdata/leaky")
	t.Run("exits", func(t *testing.T) {
		p := testutil.Start(t, fixture, "-leak=map", "-duration=4s")
		watchUntilExit(t, bin, p, func() {})
		if err := p.Wait(t, 5*time.Second); err != nil {
			t.Errorf("fixture: %v", err)
		}
	})
	t.Run("killed", func(t *testing.T) {
		p := testutil.Start(t, fixture, "-leak=map")
		watchUntilExit(t, bin, p, func() {
			time.Sleep(3 * time.Second)
			_ = p.Signal(syscall.SIGKILL)
		})
	})
}

// watchUntilExit watches p until it ends (kill ends it, concurrently) and
// checks the final report.
func watchUntilExit(t *testing.T, bin string, p *testutil.Process, kill func()) {
	t.Helper()
	p.WaitLine(t, "ready", 10*time.Second)
	out := filepath.Join(t.TempDir(), "out")
	go kill()
	start := time.Now()
	code, log := runLeakscope(t, bin, nil, "--pid", strconv.Itoa(p.PID()), "--interval=1s", "--out", out)
	if code != 0 {
		t.Fatalf("exit code %d after the target exited, want 0:\n%s", code, log)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("leakscope took %v to notice the exit", took)
	}
	doc := readSuspects(t, filepath.Join(out, "suspects.json"))
	if len(doc.Targets) != 1 || doc.Targets[0].SampledAllocs == 0 {
		t.Fatalf("final report lacks the target's samples: %+v", doc.Targets)
	}
	b, _ := os.ReadFile(filepath.Join(out, "suspects.json"))
	if !strings.Contains(string(b), `"status": "exited"`) && !strings.Contains(string(b), `"status":"exited"`) {
		t.Errorf("final suspects.json does not mark the target exited:\n%s", b)
	}
}

// TestSignalFlushesAndExits: SIGTERM mid-watch writes the final files and
// exits 0 within 5 s; the target keeps running.
func TestSignalFlushesAndExits(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	bin := buildLeakscope(t, dir)
	fixture := testutil.Build(t, dir, "leaky", "./testdata/leaky")
	p := testutil.Start(t, fixture, "-leak=map")
	p.WaitLine(t, "ready", 10*time.Second)
	for _, tc := range []struct {
		sig      syscall.Signal
		interval string
	}{
		// No interval has passed: only the final report writes.
		{syscall.SIGTERM, "1h"},
		// Snapshots and reports every 200 ms: the signal lands during or
		// right next to one.
		{syscall.SIGINT, "200ms"},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			ls := testutil.Start(t, bin, "--pid", strconv.Itoa(p.PID()), "--interval="+tc.interval, "--out", out, "--listen=")
			time.Sleep(3 * time.Second) // attached
			if err := ls.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := ls.Wait(t, 5*time.Second); err != nil {
				t.Fatalf("leakscope after %v: %v", tc.sig, err)
			}
			t.Logf("exited %v after %v", time.Since(start), tc.sig)
			doc := readSuspects(t, filepath.Join(out, "suspects.json"))
			if len(doc.Targets) != 1 || doc.Targets[0].SampledAllocs == 0 {
				t.Errorf("final suspects.json lacks the samples: %+v", doc.Targets)
			}
			latestProfile(t, out, p.PID())
			if p.Exited() {
				t.Errorf("target died: %q", p.Lines())
			}
			if rate := readProfileRate(t, p.PID()); rate != 0 {
				t.Errorf("runtime.MemProfileRate is %d after a clean exit, want 0 restored", rate)
			}
		})
	}
}

// readProfileRate reads the target's runtime.MemProfileRate.
func readProfileRate(t *testing.T, pid int) int64 {
	t.Helper()
	_, r := hooktest.Resolve(t, pid)
	rate, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	return rate
}

// TestBadTargetChoices: a thread id, an unwritable --out: refused before
// anything touches the target.
func TestBadTargetChoices(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	bin := buildLeakscope(t, dir)
	fixture := testutil.Build(t, dir, "leaky", "./testdata/leaky")
	p := testutil.Start(t, fixture, "-leak=none")
	p.WaitLine(t, "ready", 10*time.Second)

	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", p.PID()))
	if err != nil {
		t.Fatal(err)
	}
	var tid string
	for _, e := range tasks {
		if e.Name() != strconv.Itoa(p.PID()) {
			tid = e.Name()
			break
		}
	}
	if tid == "" {
		t.Fatal("the Go fixture has no second thread")
	}
	code, out := runLeakscope(t, bin, nil, "--pid", tid, "--duration=1s")
	wantCleanError(t, code, out, "is a thread of process "+strconv.Itoa(p.PID()))

	// root may write anywhere, so make --out impossible: a path under a file.
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out = runLeakscope(t, bin, nil, "--pid", strconv.Itoa(p.PID()), "--duration=1s", "--out", filepath.Join(file, "out"))
	wantCleanError(t, code, out, "--out: output directory "+filepath.Join(file, "out"))
	if strings.Contains(out, "attached") {
		t.Errorf("attached before checking --out:\n%s", out)
	}
	if rate := readProfileRate(t, p.PID()); rate != 0 {
		t.Errorf("MemProfileRate changed to %d although leakscope refused to run", rate)
	}
}
