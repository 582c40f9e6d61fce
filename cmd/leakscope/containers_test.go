package main_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/cgroup"
	"github.com/leakscope/leakscope/internal/testutil"
)

// testCgroups makes a fresh cgroup for the test under the unified
// hierarchy (wherever it is mounted) and removes it, with everything
// created below it, when the test ends. It returns the directory and the
// cgroup path as /proc/PID/cgroup shows it.
func testCgroups(t *testing.T) (dir, path string) {
	t.Helper()
	m, err := cgroup.V2Mount()
	if err != nil {
		t.Fatalf("these tests need a cgroup2 mount: %v", err)
	}
	name := "leakscope-test-" + randomHex(t, 4)
	dir = filepath.Join(m.Point, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testutil.RemoveCgroupTree(t, dir) })
	return dir, filepath.Join(m.Root, name)
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func mkCgroup(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// moveToCgroup moves a process the test started into the group at dir.
func moveToCgroup(t *testing.T, dir string, pid int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatalf("moving pid %d to %s: %v", pid, dir, err)
	}
}

// container runs bin like a container runtime would, as far as leakscope
// can tell: in its own PID namespace (it is pid 1 there) and mount
// namespace, from a tmpfs mounted only inside (the host has no path to
// the binary), in the cgroup at cgdir.
type container struct {
	*testutil.Process // unshare
	hostPID           int
}

// containerScript runs inside the new namespaces: join the cgroup
// ("0": the writer itself), mount the private tmpfs, copy the binary in
// and become it.
const containerScript = `set -e
cg=$1 root=$2 bin=$3; shift 3
echo 0 > "$cg/cgroup.procs"
mount -t tmpfs -o size=64m leakscope-test "$root"
cp "$bin" "$root/app"
exec "$root/app" "$@"`

func startContainer(t *testing.T, cgdir, bin string, args ...string) *container {
	t.Helper()
	root := t.TempDir() // stays empty on the host
	argv := append([]string{"--pid", "--mount", "--propagation", "private", "--fork", "--kill-child",
		"sh", "-c", containerScript, "sh", cgdir, root, bin}, args...)
	p := testutil.Start(t, "unshare", argv...)
	if line := p.WaitLine(t, "ready", 15*time.Second); line != "ready 1" {
		t.Fatalf("containerised fixture says %q, want pid 1 in its namespace", line)
	}
	c := &container{Process: p}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p.PID(), p.PID()))
	if err != nil {
		t.Fatal(err)
	}
	if c.hostPID, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
		t.Fatalf("children of unshare: %q", b)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("the container's tmpfs shows on the host: %v", entries)
	}
	return c
}

// pollSuspects reads suspects.json until ok accepts it or timeout passes.
func pollSuspects(t *testing.T, out string, timeout time.Duration, ok func(suspectsDoc) bool) (suspectsDoc, bool) {
	t.Helper()
	var doc suspectsDoc
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(out, "suspects.json"))
		if err != nil {
			continue
		}
		doc = suspectsDoc{}
		if json.Unmarshal(b, &doc) == nil && ok(doc) {
			return doc, true
		}
	}
	return doc, false
}

func targetOf(doc suspectsDoc, hostPID int) (int, bool) {
	for i, tg := range doc.Targets {
		if tg.HostPID == hostPID {
			return i, true
		}
	}
	return -1, false
}

// TestContainers watches containers named the ways real runtimes name
// their cgroups, with processes in their own PID and mount namespaces:
// attached by container ID (full or prefix; a plain cgroup by directory), labelled with host pid,
// namespace pid, container ID and cgroup, a non-Go process skipped with
// its reason, and a restarted container's new process picked up within
// 5 s while the old one is reported exited and detached.
func TestContainers(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	dir := t.TempDir()
	leakscope := buildLeakscope(t, dir)
	fixture := testutil.Build(t, dir, "leaky", "./testdata/leaky")
	cgDir, cgPath := testCgroups(t)

	pod := "pod" + randomHex(t, 4)
	styles := []struct {
		name, group, id, arg string // arg: what --container gets
	}{
		{"docker", "system.slice/docker-%s.scope", "", "prefix"},
		{"containerd", "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-" + pod + ".slice/cri-containerd-%s.scope", "", "full"},
		{"crio", "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-" + pod + ".slice/crio-%s.scope", "", "prefix"},
		{"kubepods-cgroupfs", "kubepods/burstable/" + pod + "/%s", "", "full"},
	}
	args := []string{"--interval=1s", "--out", filepath.Join(dir, "out")}
	ctrs := make([]*container, len(styles))
	for i := range styles {
		s := &styles[i]
		s.id = randomHex(t, 32)
		s.group = fmt.Sprintf(s.group, s.id)
		mkCgroup(t, filepath.Join(cgDir, s.group))
		ctrs[i] = startContainer(t, filepath.Join(cgDir, s.group), fixture, "-leak=map", "-churn-rate=2097152")
		arg := s.id
		if s.arg == "prefix" {
			arg = s.id[:12]
		}
		args = append(args, "--container", arg)
	}
	// A plain cgroup, named by its directory: no container, no namespace.
	plainDir := filepath.Join(cgDir, "plain")
	mkCgroup(t, plainDir)
	plain := testutil.Start(t, fixture, "-leak=none", "-churn-rate=2097152")
	plain.WaitLine(t, "ready", 10*time.Second)
	moveToCgroup(t, plainDir, plain.PID())
	args = append(args, "--cgroup", plainDir)
	// A shell in a container is not Go: reported as skipped, never attached.
	sleep := testutil.Start(t, "/bin/sleep", "120")
	moveToCgroup(t, filepath.Join(cgDir, styles[0].group), sleep.PID())

	ls := testutil.Start(t, leakscope, args...)
	out := filepath.Join(dir, "out")
	doc, ok := pollSuspects(t, out, 20*time.Second, func(d suspectsDoc) bool {
		n := 0
		for _, tg := range d.Targets {
			if tg.Status == "watching" {
				n++
			}
		}
		return n == len(styles)+1 && len(d.Skipped) == 1
	})
	if !ok {
		t.Fatalf("4 containers and a cgroup not all watched within 20s: %+v", doc)
	}
	if k, found := targetOf(doc, plain.PID()); !found {
		t.Errorf("--cgroup %s: pid %d not watched", plainDir, plain.PID())
	} else if tg := doc.Targets[k]; tg.ContainerID != "" || tg.NSPID != plain.PID() || tg.Cgroup != filepath.Join(cgPath, "plain") {
		t.Errorf("--cgroup: container_id %q ns_pid %d cgroup %q; want none, %d, %q", tg.ContainerID, tg.NSPID, tg.Cgroup, plain.PID(), filepath.Join(cgPath, "plain"))
	}
	for i, s := range styles {
		k, found := targetOf(doc, ctrs[i].hostPID)
		if !found {
			t.Errorf("%s: host pid %d not watched", s.name, ctrs[i].hostPID)
			continue
		}
		tg := doc.Targets[k]
		want := filepath.Join(cgPath, s.group)
		if tg.PID != ctrs[i].hostPID || tg.NSPID != 1 || tg.ContainerID != s.id || tg.Cgroup != want || tg.Exe != "app" {
			t.Errorf("%s: pid %d host_pid %d ns_pid %d container_id %q cgroup %q exe %q; want %d, %d, 1, %q, %q, app",
				s.name, tg.PID, tg.HostPID, tg.NSPID, tg.ContainerID, tg.Cgroup, tg.Exe, ctrs[i].hostPID, ctrs[i].hostPID, s.id, want)
		}
	}
	// Each container runs its own copy of the binary: one probe set each,
	// and one for the binary the plain cgroup's process runs.
	if doc.ProbeSets != len(styles)+1 {
		t.Errorf("probe_sets %d, want %d", doc.ProbeSets, len(styles)+1)
	}
	if sk := doc.Skipped[0]; sk.PID != sleep.PID() || sk.ContainerID != styles[0].id || !strings.Contains(sk.Reason, "not a Go binary") {
		t.Errorf("skipped: %+v, want pid %d in container %s, not a Go binary", sk, sleep.PID(), styles[0].id)
	}

	// Restart the docker container: the old process goes, a new one
	// comes in the same cgroup.
	old := ctrs[0]
	if err := old.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	restarted := startContainer(t, filepath.Join(cgDir, styles[0].group), fixture, "-leak=none", "-churn-rate=2097152")
	started := time.Now()
	doc, ok = pollSuspects(t, out, 10*time.Second, func(d suspectsDoc) bool {
		k, found := targetOf(d, restarted.hostPID)
		return found && d.Targets[k].Status == "watching"
	})
	pickedUp := time.Since(started)
	t.Logf("restarted container's process watched after %v", pickedUp)
	if !ok || pickedUp > 5*time.Second {
		t.Fatalf("restarted container's process (host pid %d) not watched within 5s (%v): %+v", restarted.hostPID, pickedUp, doc)
	}
	doc, ok = pollSuspects(t, out, 5*time.Second, func(d suspectsDoc) bool {
		k, found := targetOf(d, old.hostPID)
		return found && d.Targets[k].Status == "exited" && d.ProbeSets == len(styles)+1
	})
	if !ok {
		t.Errorf("the killed container's process is not reported exited with its probes detached (probe_sets %d): %+v", doc.ProbeSets, doc.Targets)
	}
	k, _ := targetOf(doc, restarted.hostPID)
	if tg := doc.Targets[k]; tg.ContainerID != styles[0].id || tg.NSPID != 1 {
		t.Errorf("restarted: container_id %q ns_pid %d", tg.ContainerID, tg.NSPID)
	}

	if err := ls.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ls.Wait(t, 10*time.Second); err != nil {
		t.Errorf("leakscope after SIGTERM: %v", err)
	}
	for i, c := range append(ctrs[1:], restarted) {
		if c.Exited() {
			t.Errorf("container %d died while watched: %q", i, c.Lines())
		}
	}
}

// TestBadSelectors: a container or cgroup that does not exist is a clear
// error before anything is loaded.
func TestBadSelectors(t *testing.T) {
	bin := buildLeakscope(t, t.TempDir())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--container", "0123456789ab"}, "no running container has this ID"},
		{[]string{"--container", "not-hex"}, "not a container ID, nor the name of a running container"},
		{[]string{"--cgroup", "/leakscope-no-such-cgroup"}, "no such cgroup"},
		{[]string{"--cgroup", "relative/path"}, "want an absolute path"},
	} {
		code, out := runLeakscope(t, bin, nil, append(tc.args, "--duration=1s")...)
		wantCleanError(t, code, out, tc.want)
	}
}
