// Package testutil holds what leakscope's tests share: the privilege gate
// and building and running fixture programs.
package testutil

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireBPF skips a privileged test when not root, or fails it when
// LEAKSCOPE_REQUIRE_BPF=1 (as CI sets): there a skip would hide that the
// real thing was never tested.
func RequireBPF(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	const why = "needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE) to load BPF programs and attach uprobes"
	if os.Getenv("LEAKSCOPE_REQUIRE_BPF") == "1" {
		t.Fatalf("LEAKSCOPE_REQUIRE_BPF=1 but this test %s", why)
	}
	t.Skip("privileged test: " + why)
}

// ModuleRoot is the directory holding go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Build compiles the package at pkg (relative to the module root, e.g.
// "./testdata/leaky") into dir with extra `go build` arguments and returns
// the binary's path.
func Build(t testing.TB, dir, name, pkg string, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmdArgs := append([]string{"build", "-o", out}, args...)
	cmdArgs = append(cmdArgs, pkg)
	cmd := exec.Command("go", cmdArgs...)
	cmd.Dir = ModuleRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(cmdArgs, " "), err, b)
	}
	return out
}

// Process is a fixture started by a test.
type Process struct {
	Cmd *exec.Cmd

	stdin io.WriteCloser // nil unless started by StartInteractive
	mu    sync.Mutex
	lines []string
	done  chan struct{}
	err   error
}

// Start runs bin with args, collects its stdout lines, and kills it (by
// PID, the only process the test may signal) when the test ends.
func Start(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	return start(t, false, bin, args...)
}

// StartInteractive is Start with a pipe to the fixture's stdin (see Send).
func StartInteractive(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	return start(t, true, bin, args...)
}

func start(t testing.TB, interactive bool, bin string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	if interactive {
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go p.collect(stdout)
	t.Cleanup(func() {
		if !p.Exited() {
			_ = cmd.Process.Kill()
		}
		<-p.done
	})
	return p
}

// Send writes one line to the stdin of a fixture started by
// StartInteractive.
func (p *Process) Send(line string) error {
	if p.stdin == nil {
		return errors.New("fixture was not started with StartInteractive")
	}
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

func (p *Process) collect(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, sc.Text())
		p.mu.Unlock()
	}
	p.err = p.Cmd.Wait()
	close(p.done)
}

// PID of the running fixture.
func (p *Process) PID() int { return p.Cmd.Process.Pid }

// Lines returns what the fixture printed so far.
func (p *Process) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// WaitLine waits until the fixture prints a line starting with prefix.
func (p *Process) WaitLine(t testing.TB, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, l := range p.Lines() {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		if p.Exited() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("fixture pid %d printed no line %q within %v; output: %q", p.PID(), prefix, timeout, p.Lines())
	return ""
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the fixture to end on its own and returns its exit error.
func (p *Process) Wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("fixture pid %d did not exit within %v", p.PID(), timeout)
		return nil
	}
}

// Signal sends sig to the fixture (by PID).
func (p *Process) Signal(sig syscall.Signal) error { return p.Cmd.Process.Signal(sig) }

// Run runs bin with args to its end (as cred when not nil) and returns
// its exit code and combined output.
func Run(t testing.TB, bin string, cred *syscall.Credential, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	}
	t.Fatalf("running %s: %v", bin, err)
	return -1, ""
}

// SharedTempDir is a temporary directory every user may enter (t.TempDir's
// parent is private to root): for binaries run as another user.
func SharedTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "leakscope-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
