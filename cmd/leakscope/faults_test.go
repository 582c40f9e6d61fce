package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
)

// TestTargetExecs: a target that executes another program mid-watch (a
// non-Go one, or its own binary again) is marked replaced and detached;
// nothing of the new program is reported under the old identity, the new
// program is left alone and keeps running, and leakscope ends with 0.
func TestTargetExecs(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	bin := buildLeakscope(t, dir)
	fixture := testutil.Build(t, dir, "leaky", "./testdata/leaky")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"into a non-Go program", []string{"-exec", "/bin/sleep", "60"}},
		{"into its own binary", []string{"-exec", fixture, "-leak=none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.args[1] == fixture {
				if b, _ := os.ReadFile("/proc/sys/kernel/randomize_va_space"); strings.TrimSpace(string(b)) == "0" {
					t.Skip("address randomization is off: an exec of the same binary cannot be told apart (documented)")
				}
			}
			p := testutil.Start(t, fixture, append([]string{"-leak=map", "-exec-after=4s"}, tc.args...)...)
			p.WaitLine(t, "ready", 10*time.Second)
			out := filepath.Join(t.TempDir(), "out")
			start := time.Now()
			code, log := runLeakscope(t, bin, nil, "--pid", strconv.Itoa(p.PID()), "--interval=1s", "--duration=40s", "--out", out)
			if code != 0 {
				t.Fatalf("exit code %d, want 0:\n%s", code, log)
			}
			if took := time.Since(start); took > 25*time.Second {
				t.Errorf("took %v to notice the exec", took)
			}
			if !strings.Contains(log, "target replaced") {
				t.Errorf("log does not say the target was replaced:\n%s", log)
			}
			doc := readSuspects(t, filepath.Join(out, "suspects.json"))
			if len(doc.Targets) != 1 || doc.Targets[0].Status != "replaced" {
				t.Fatalf("suspects.json targets %+v: want one, status replaced", doc.Targets)
			}
			if exe := doc.Targets[0].Exe; exe != "leaky" {
				t.Errorf("exe %q: the report names the new program", exe)
			}
			if p.Exited() {
				t.Errorf("the new program died: %q", p.Lines())
			}
			if tc.args[1] == fixture {
				// The new image's MemProfileRate is its own: leakscope
				// must not have "restored" into a program it never set.
				if rate := readProfileRate(t, p.PID()); rate != 0 {
					t.Errorf("new program's MemProfileRate is %d, want its own 0", rate)
				}
			}
		})
	}
}

// TestTargetDiesDuringAttach: targets that end at various points of
// leakscope's start (before, while and after it loads and attaches) give
// a clean error or a clean exit-0 report, never a crash or a report of
// anything but the target.
func TestTargetDiesDuringAttach(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	bin := buildLeakscope(t, dir)
	fixture := testutil.Build(t, dir, "leaky", "./testdata/leaky")
	outcomes := map[string]int{}
	for _, life := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second} {
		p := testutil.Start(t, fixture, "-leak=map", "-duration="+life.String())
		p.WaitLine(t, "ready", 10*time.Second)
		out := filepath.Join(t.TempDir(), "out")
		code, log := runLeakscope(t, bin, nil, "--pid", strconv.Itoa(p.PID()), "--interval=500ms", "--duration=20s", "--out", out)
		if strings.Contains(log, "panic") || goroutineTrace.MatchString(log) {
			t.Fatalf("life %v: crash:\n%s", life, log)
		}
		if code != 0 {
			wantCleanError(t, code, log, strconv.Itoa(p.PID()))
			outcomes["refused"]++
			continue
		}
		doc := readSuspects(t, filepath.Join(out, "suspects.json"))
		if len(doc.Targets) != 1 || doc.Targets[0].PID != p.PID() || doc.Targets[0].Status != "exited" {
			t.Errorf("life %v: exit 0 but suspects.json targets %+v: want the target, exited", life, doc.Targets)
		}
		outcomes["reported exited"]++
	}
	t.Logf("outcomes: %v", outcomes)
}

// TestMoreBadTargets: a kernel thread, a zombie, a Go binary whose hook
// was renamed, the same pid twice, and a full disk under --out.
func TestMoreBadTargets(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	bin := buildLeakscope(t, dir)
	fixture := testutil.Build(t, dir, "leaky", "./testdata/leaky")

	t.Run("kernel thread", func(t *testing.T) {
		// kthreadd: only its /proc entry is read; leakscope refuses first.
		code, out := runLeakscope(t, bin, nil, "--pid", "2", "--duration=1s")
		wantCleanError(t, code, out, "pid 2 is a kernel thread")
	})
	t.Run("zombie", func(t *testing.T) {
		z := exec.Command(fixture, "-duration=10ms")
		if err := z.Start(); err != nil {
			t.Fatal(err)
		}
		defer z.Wait() // reaped at the end: a zombie until then
		waitState(t, z.Process.Pid, 'Z')
		code, out := runLeakscope(t, bin, nil, "--pid", strconv.Itoa(z.Process.Pid), "--duration=1s")
		wantCleanError(t, code, out, "has exited (zombie)")
	})
	t.Run("hook renamed", func(t *testing.T) {
		// Same length, so the program still runs; only the name differs.
		b, err := os.ReadFile(fixture)
		if err != nil {
			t.Fatal(err)
		}
		renamed := bytes.ReplaceAll(b, []byte("runtime.profilealloc\x00"), []byte("runtime.profileallox\x00"))
		if bytes.Equal(renamed, b) {
			t.Fatal("runtime.profilealloc not found in the fixture's name table")
		}
		path := filepath.Join(t.TempDir(), "renamed")
		if err := os.WriteFile(path, renamed, 0o755); err != nil {
			t.Fatal(err)
		}
		p := testutil.Start(t, path, "-leak=none")
		p.WaitLine(t, "ready", 10*time.Second)
		code, out := runLeakscope(t, bin, nil, "--pid", strconv.Itoa(p.PID()), "--duration=1s")
		wantCleanError(t, code, out, "runtime.profilealloc")
		if p.Exited() {
			t.Errorf("target died")
		}
	})
	t.Run("same pid twice", func(t *testing.T) {
		p := testutil.Start(t, fixture, "-leak=none")
		p.WaitLine(t, "ready", 10*time.Second)
		out := filepath.Join(t.TempDir(), "out")
		pid := strconv.Itoa(p.PID())
		code, log := runLeakscope(t, bin, nil, "--pid", pid, "--pid", pid, "--duration=2s", "--interval=1s", "--out", out)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, log)
		}
		if doc := readSuspects(t, filepath.Join(out, "suspects.json")); len(doc.Targets) != 1 {
			t.Errorf("%d targets for one pid given twice", len(doc.Targets))
		}
	})
	t.Run("full disk", func(t *testing.T) {
		// A 64 KiB tmpfs, filled: --out passes the writability check (an
		// empty file fits) and every report then fails.
		mnt := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt).CombinedOutput(); err != nil {
			t.Fatalf("mount: %v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
		fill, _ := os.Create(filepath.Join(mnt, "fill"))
		_, _ = fill.Write(make([]byte, 1<<20)) // stops at full
		fill.Close()
		p := testutil.Start(t, fixture, "-leak=map")
		p.WaitLine(t, "ready", 10*time.Second)
		code, out := runLeakscope(t, bin, nil, "--pid", strconv.Itoa(p.PID()), "--duration=3s", "--interval=1s", "--out", mnt)
		wantCleanError(t, code, out, "no space left on device")
		if !strings.Contains(out, "writing reports failed; watching on") {
			t.Errorf("intervals before the last did not warn and go on:\n%s", out)
		}
		if rate := readProfileRate(t, p.PID()); rate != 0 {
			t.Errorf("MemProfileRate %d after the run: not restored", rate)
		}
		if p.Exited() {
			t.Errorf("target died")
		}
	})
}

// waitState waits until /proc/PID/stat shows state.
func waitState(t *testing.T, pid int, state byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) && b[i+2] == state {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("pid %d never reached state %c", pid, state)
}
