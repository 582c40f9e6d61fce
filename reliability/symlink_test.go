package reliability

import (
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

// TestHostileSymlink: a target in its own mount namespace runs from a
// path that, once it started, it turns into a symlink to a host file; on
// the host the same path holds a decoy. A leakscope that followed the
// path (on the host, or under /proc/PID/root) would read the decoy or the
// symlink's target, both non-Go: it must read the real binary through
// /proc/PID/exe and watch the target. With strace present, the trace
// also shows leakscope never opened the path or anything under
// /proc/PID/root.
func TestHostileSymlink(t *testing.T) {
	testutil.RequireBPF(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("needs unshare (util-linux): %v", err)
	}
	work := t.TempDir()
	fixture := testutil.Build(t, work, "leaky", "./testdata/leaky")
	bin := buildCLI(t)
	dir := filepath.Join(work, "app")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(dir, "app")
	copyFile(t, "/bin/sleep", app) // the host's decoy
	// Inside its namespace: a tmpfs over dir with the real program, which
	// a second later becomes a symlink to /bin/true.
	script := fmt.Sprintf(`set -e
mount -t tmpfs tmpfs %[1]s
cp %[2]s %[3]s
(sleep 1; rm %[3]s; ln -s /bin/true %[3]s) &
exec %[3]s -leak=map`, dir, fixture, app)
	p := testutil.Start(t, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	p.WaitLine(t, "ready", 10*time.Second)
	pid := p.PID()
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Lstat(fmt.Sprintf("/proc/%d/root%s", pid, app))
		if err == nil && fi.Mode()&os.ModeSymlink != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the target's %s never became a symlink", app)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); strings.TrimSuffix(link, " (deleted)") != app {
		t.Fatalf("/proc/%d/exe names %q, want %q", pid, link, app)
	}

	out := filepath.Join(t.TempDir(), "out")
	args := []string{"--pid", strconv.Itoa(pid), "--duration=4s", "--interval=1s", "--state-dir=", "--out", out}
	strace, _ := exec.LookPath("strace")
	trace := filepath.Join(t.TempDir(), "trace")
	cmd, cmdArgs := bin, args
	if strace != "" {
		cmd, cmdArgs = strace, append([]string{"-f", "-qq", "-e", "trace=%file", "-o", trace, bin}, args...)
	}
	code, log := runCLI(t, cmd, cmdArgs...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, log)
	}
	d := readDoc(t, filepath.Join(out, "suspects.json"))
	if len(d.Targets) != 1 || d.Targets[0].Status == "" {
		t.Fatalf("targets %+v", d.Targets)
	}
	b, _ := os.ReadFile(filepath.Join(out, "suspects.json"))
	if !strings.Contains(string(b), `"sampled_allocs": `) || strings.Contains(string(b), `"sampled_allocs": 0,`) {
		t.Errorf("no samples from the target: it was not watched through its real binary:\n%s", b)
	}
	if strace == "" {
		t.Log("strace not installed: the system-call check is skipped (the watch itself proves the real binary was read)")
		return
	}
	tb, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	root := fmt.Sprintf("/proc/%d/root", pid)
	for _, line := range strings.Split(string(tb), "\n") {
		if strings.Contains(line, `"`+app+`"`) || strings.Contains(line, root) {
			t.Errorf("leakscope followed a path the target controls: %s", line)
		}
	}
	exeOpens := strings.Count(string(tb), fmt.Sprintf(`"/proc/%d/exe"`, pid))
	t.Logf("strace: %d file system calls on /proc/%d/exe, none on %s or under %s", exeOpens, pid, app, root)
	if exeOpens == 0 {
		t.Errorf("the trace shows no use of /proc/%d/exe", pid)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
