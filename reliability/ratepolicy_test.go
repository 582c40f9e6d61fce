package reliability

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/tracer"
)

// background is a leakscope run the test stops itself.
type background struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
}

func startCLI(t *testing.T, bin string, args ...string) *background {
	t.Helper()
	b := &background{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.out
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()
	t.Cleanup(func() { _ = b.cmd.Process.Kill(); <-b.done })
	return b
}

func (b *background) running() bool {
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

// waitRate polls the target's MemProfileRate until ok accepts it, while
// leakscope runs.
func waitRate(t *testing.T, rate tracer.ProfileRate, ls *background, within time.Duration, what string, ok func(int64) bool) int64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := rate.Read()
		if err == nil && ok(r) {
			if !ls.running() {
				t.Fatalf("%s: seen only after leakscope exited (%v):\n%s", what, ls.cmd.ProcessState, ls.out.String())
			}
			return r
		}
		if !ls.running() || time.Now().After(deadline) {
			t.Fatalf("%s: not seen within %v while leakscope ran (rate %d, %v; leakscope %v):\n%s", what, within, r, err, ls.cmd.ProcessState, ls.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func records(t *testing.T, dir string) []string {
	t.Helper()
	r, err := filepath.Glob(filepath.Join(dir, "rate-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// An application that sets its own MemProfileRate while leakscope watches
// keeps it: leakscope's budget stops writing (a tiny budget that would
// otherwise raise the rate within seconds), and a clean exit does not
// put back the value found at attach.
func TestRateYieldedToApplication(t *testing.T) {
	testutil.RequireBPF(t)
	bin := buildCLI(t)
	p, _, rate := startTarget(t, "-leak=map")
	state, out := filepath.Join(t.TempDir(), "state"), t.TempDir()
	ls := startCLI(t, bin, "--pid", strconv.Itoa(p.PID()), "--interval=1s", "--max-overhead=0.01%", "--state-dir", state, "--out", out)
	waitRate(t, rate, ls, 20*time.Second, "sampling switched on", func(r int64) bool { return r != 0 })

	const own = 3 << 20 // not a power of two times 512 KiB: the budget never sets it
	if _, err := rate.Set(own); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond) // three intervals, each one a chance for the budget to raise it
	if r, err := rate.Read(); err != nil || r != own {
		t.Fatalf("MemProfileRate while watched after the application set %d: %d, %v; leakscope changed it", own, r, err)
	}
	if err := ls.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-ls.done
	if !ls.cmd.ProcessState.Success() {
		t.Fatalf("leakscope: %v:\n%s", ls.cmd.ProcessState, ls.out.String())
	}
	if r, err := rate.Read(); err != nil || r != own {
		t.Errorf("MemProfileRate after leakscope's clean exit: %d, %v; want the application's %d kept", r, err, own)
	}
	if left := records(t, state); len(left) != 0 {
		t.Errorf("records left for a rate the application owns: %v", left)
	}
	d := readDoc(t, filepath.Join(out, "suspects.json"))
	if len(d.Targets) != 1 || !strings.Contains(strings.Join(d.Targets[0].Notes, "\n"), "the application set its own runtime.MemProfileRate") {
		t.Errorf("suspects.json does not note that the application took the rate back: %+v", d.Targets)
	}
}

// After a kill -9 of a leakscope whose budget had raised the rate of a
// target sampling at its own 512 KiB, the next leakscope (budget off)
// puts the target's own rate back as soon as it attaches, not only at its
// exit: that rate is the policy's, and the budget's floor.
func TestRateFloorAfterKill9(t *testing.T) {
	testutil.RequireBPF(t)
	bin := buildCLI(t)
	p, _, rate := startTarget(t, "-leak=map")
	const own = 512 << 10
	if _, err := rate.Set(own); err != nil { // as a program linking net/http/pprof has it
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	first := startCLI(t, bin, "--pid", strconv.Itoa(p.PID()), "--interval=1s", "--max-overhead=0.01%", "--state-dir", state, "--out", t.TempDir())
	raised := waitRate(t, rate, first, 30*time.Second, "the budget raising the rate", func(r int64) bool { return r > own })
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	if r, err := rate.Read(); err != nil || r < raised {
		t.Fatalf("MemProfileRate after kill -9: %d, %v; want the raised %d (or higher) left", r, err, raised)
	}
	if left := records(t, state); len(left) != 1 {
		t.Fatalf("records after kill -9: %v, want one", left)
	}

	out := t.TempDir()
	second := startCLI(t, bin, "--pid", strconv.Itoa(p.PID()), "--interval=1s", "--max-overhead=0", "--duration=8s", "--state-dir", state, "--out", out)
	waitRate(t, rate, second, 6*time.Second, "the target's own rate put back at attach", func(r int64) bool { return r == own })
	time.Sleep(2 * time.Second) // and kept: with the budget off nothing raises it
	if r, err := rate.Read(); err != nil || r != own {
		t.Errorf("MemProfileRate 2 s later: %d, %v; want %d", r, err, own)
	}
	<-second.done
	if !second.cmd.ProcessState.Success() {
		t.Fatalf("second leakscope: %v:\n%s", second.cmd.ProcessState, second.out.String())
	}
	if r, err := rate.Read(); err != nil || r != own {
		t.Errorf("MemProfileRate after the second leakscope's clean exit: %d, %v; want the target's own %d", r, err, own)
	}
	if left := records(t, state); len(left) != 0 {
		t.Errorf("records left after a clean exit: %v", left)
	}
	d := readDoc(t, filepath.Join(out, "suspects.json"))
	if len(d.Targets) != 1 || !strings.Contains(strings.Join(d.Targets[0].Notes, "\n"), "did not exit cleanly") {
		t.Errorf("suspects.json does not note the leftover change: %+v", d.Targets)
	}
}
