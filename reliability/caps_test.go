package reliability

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/leakscope/leakscope/internal/testutil"
)

// The capability sets docs/RELIABILITY.md documents: perCap is what the
// kernel's per-capability checks ask for (bpf_capable, perfmon_capable,
// ptrace access to another user's process); some kernels (6.18 here)
// refuse perf_event_open of the uprobe PMU without CAP_SYS_ADMIN, which
// subsumes CAP_BPF and CAP_PERFMON, so there adminCaps is the least set.
var (
	perCap    = []string{"bpf", "perfmon", "sys_ptrace"}
	adminCaps = []string{"sys_admin", "sys_ptrace"}
)

// TestCapabilities runs a whole watch as an unprivileged user (setpriv:
// uid nobody, no groups, the capabilities as ambient ones and nothing else
// in the bounding set) against a target of another user: it must watch,
// sample and restore MemProfileRate. It tries perCap first; if this
// kernel refuses uprobes under it, adminCaps. Then the working set once
// without each of its capabilities: each must fail with a clear error,
// which shows the set is minimal.
func TestCapabilities(t *testing.T) {
	testutil.RequireBPF(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatalf("needs setpriv (util-linux): %v", err)
	}
	shared := testutil.SharedTempDir(t)
	fixture := testutil.Build(t, shared, "leaky", "./testdata/leaky")
	bin := testutil.Build(t, shared, "leakscope", "./cmd/leakscope")

	// The target runs as daemon (uid 1): not leakscope's user.
	target := exec.Command(fixture, "-leak=map")
	target.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1, Gid: 1}}
	stdout, err := target.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = target.Process.Kill(); _ = target.Wait() })
	buf := make([]byte, 64)
	if n, err := stdout.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "ready") {
		t.Fatalf("target: %q, %v", buf[:n], err)
	}
	go func() { // keep its pipe drained
		for {
			if _, err := stdout.Read(buf); err != nil {
				return
			}
		}
	}()
	pid := strconv.Itoa(target.Process.Pid)

	watch := func(t *testing.T, caps []string, out string) (int, string) {
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(out, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		set := "-all"
		for _, c := range caps {
			set += ",+" + c
		}
		args := []string{"--reuid=65534", "--regid=65534", "--clear-groups",
			"--inh-caps=" + set, "--ambient-caps=" + set, "--bounding-set=" + set, "--",
			bin, "--pid", pid, "--duration=6s", "--interval=1s", "--out", out, "--state-dir", filepath.Join(out, "state")}
		return testutil.Run(t, "setpriv", nil, args...)
	}

	caps := perCap
	out := filepath.Join(shared, "out")
	code, log := watch(t, caps, out)
	if code != 0 && strings.Contains(log, "perf_uprobe PMU") && strings.Contains(log, "permission denied") {
		t.Logf("this kernel refuses uprobe perf events under CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE: %s", firstLine(log))
		caps, out = adminCaps, filepath.Join(shared, "out-admin")
		code, log = watch(t, caps, out)
	}
	t.Logf("least capability set here: %v", caps)
	if code != 0 {
		t.Fatalf("exit %d under %v as nobody:\n%s", code, caps, log)
	}
	d := readDoc(t, filepath.Join(out, "suspects.json"))
	b, _ := os.ReadFile(filepath.Join(out, "suspects.json"))
	if len(d.Targets) != 1 || strings.Contains(string(b), `"sampled_allocs": 0,`) {
		t.Errorf("no samples:\n%s", b)
	}
	if !strings.Contains(log, "restored runtime.MemProfileRate") {
		t.Errorf("did not set and restore MemProfileRate:\n%s", log)
	}
	for i, missing := range caps {
		t.Run("without "+missing, func(t *testing.T) {
			rest := append(append([]string(nil), caps[:i]...), caps[i+1:]...)
			code, log := watch(t, rest, filepath.Join(shared, "out-no-"+missing))
			if code == 0 {
				t.Fatalf("watched without CAP_%s: the set is not minimal:\n%s", strings.ToUpper(missing), log)
			}
			if strings.Contains(log, "panic") || crashTrace.MatchString(log) {
				t.Errorf("crash:\n%s", log)
			}
			t.Logf("without CAP_%s: %s", strings.ToUpper(missing), firstLine(log))
		})
	}
}
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// crashTrace is how a Go crash's traceback starts ("goroutine 1 [running]:");
// leakscope's own messages speak of goroutines too.
var crashTrace = regexp.MustCompile(`goroutine [0-9]+ \[`)
