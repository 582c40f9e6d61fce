package reliability

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
)

// TestKill9 kills leakscope mid-watch. The target keeps running; every
// BPF program, map, link and uprobe leakscope held goes with it; the one
// thing that stays changed, the target's MemProfileRate, is recorded, and
// the next leakscope reports it (log and suspects.json notes) and
// restores the original value when it exits cleanly.
func TestKill9(t *testing.T) {
	testutil.RequireBPF(t)
	bin := buildCLI(t)
	p, _, rate := startTarget(t, "-leak=map")
	stateDir := filepath.Join(t.TempDir(), "state")
	logPath := filepath.Join(t.TempDir(), "leakscope.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	ls := exec.Command(bin, "--pid", strconv.Itoa(p.PID()), "--interval=1s", "--state-dir", stateDir, "--out", filepath.Join(t.TempDir(), "out1"))
	ls.Stdout, ls.Stderr = logFile, logFile
	if err := ls.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ls.Process.Kill(); _, _ = ls.Process.Wait() })

	// Attached once it has turned sampling on and the probes are in.
	deadline := time.Now().Add(20 * time.Second)
	var held ownedObjects
	for {
		r, err := rate.Read()
		held = readOwnedBy(t, strconv.Itoa(ls.Process.Pid))
		if err == nil && r != 0 && len(held.progs) > 0 && held.fds["[perf_event]"]+held.fds["bpf_link"] >= 4 {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("leakscope did not attach within 20s (rate %d, %v):\n%s", r, held, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // mid-run: an interval has passed
	linesBefore := len(p.Lines())
	if err := ls.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = ls.Process.Wait()

	if left := stillInKernel(held, 5*time.Second); len(left) > 0 {
		t.Errorf("after kill -9 the kernel still holds leakscope's %v", left)
	}
	time.Sleep(2 * time.Second)
	if p.Exited() || len(p.Lines()) <= linesBefore {
		t.Fatalf("target stopped after leakscope was killed: exited %v, output %q", p.Exited(), p.Lines())
	}
	left, err := rate.Read()
	if err != nil || left != 512*1024 {
		t.Fatalf("MemProfileRate after kill -9: %d, %v; want 524288 left as documented", left, err)
	}
	records, _ := filepath.Glob(filepath.Join(stateDir, "rate-*.json"))
	if len(records) != 1 {
		t.Fatalf("state records %v: want one for the target", records)
	}
	t.Logf("after kill -9: held %v, all gone from the kernel; MemProfileRate left at %d; record %s", held, left, filepath.Base(records[0]))

	// The next leakscope reports it and puts the original value back.
	out := filepath.Join(t.TempDir(), "out2")
	code, log := runCLI(t, bin, "--pid", strconv.Itoa(p.PID()), "--duration=2s", "--interval=1s", "--state-dir", stateDir, "--out", out)
	if code != 0 {
		t.Fatalf("second leakscope: exit %d:\n%s", code, log)
	}
	if !strings.Contains(log, "an earlier leakscope left this target's MemProfileRate changed") {
		t.Errorf("second leakscope's log does not report the leftover change:\n%s", log)
	}
	d := readDoc(t, filepath.Join(out, "suspects.json"))
	if len(d.Targets) != 1 || len(d.Targets[0].Notes) == 0 || !strings.Contains(d.Targets[0].Notes[0], "did not exit cleanly") {
		t.Errorf("suspects.json does not note the leftover change: %+v", d.Targets)
	}
	if r, err := rate.Read(); err != nil || r != 0 {
		t.Errorf("MemProfileRate after the second, clean leakscope: %d, %v; want the original 0", r, err)
	}
	if records, _ := filepath.Glob(filepath.Join(stateDir, "rate-*.json")); len(records) != 0 {
		t.Errorf("records left after a clean exit: %v", records)
	}
}
