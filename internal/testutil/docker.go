package testutil

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Docker is a Docker engine a test started for itself: its own data root,
// exec root, socket and cgroup parent, no bridge and no iptables rules
// (containers get --network none or host), stopped with everything it ran
// when the test ends. A daemon already running on the host is never used:
// its containers are not the test's to watch.
type Docker struct {
	CLI      string // the docker client
	Host     string // DOCKER_HOST of the daemon
	DataRoot string // dockerd --data-root: containers/<id>/config.v2.json
	ExecRoot string // dockerd --exec-root
	// CgroupParent holds every container's cgroup (cgroupfs driver), as
	// /proc/PID/cgroup shows it: tests scope --all with it.
	CgroupParent string
	// Bundles is where the daemon's containerd keeps the OCI bundles
	// (<namespace>/<id>/config.json).
	Bundles string
	pid     int
}

// RequireDocker installs Debian's docker.io when dockerd is missing (as
// root), starts a daemon of the test's own and returns it. It skips when
// that cannot be done, or fails under LEAKSCOPE_REQUIRE_BPF=1: there an
// engine that cannot start is a failure.
func RequireDocker(t *testing.T) *Docker {
	t.Helper()
	RequireBPF(t)
	fail := t.Skipf
	if os.Getenv("LEAKSCOPE_REQUIRE_BPF") == "1" {
		fail = t.Fatalf
	}
	if _, err := exec.LookPath("dockerd"); err != nil {
		if b, err := installDocker(); err != nil {
			fail("dockerd missing and apt-get install docker.io failed: %v\n%s", err, b)
			return nil
		}
	}
	d, err := startDocker(t)
	if err != nil {
		fail("starting a Docker engine: %v", err)
		return nil
	}
	return d
}

func installDocker() ([]byte, error) {
	cmd := exec.Command("sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io")
	return cmd.CombinedOutput()
}

func startDocker(t *testing.T) (*Docker, error) {
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return nil, err
	}
	// Debian's client matches its daemon; another on PATH may be newer
	// than the daemon's API.
	cli := "/usr/bin/docker"
	if _, err := os.Stat(cli); err != nil {
		if cli, err = exec.LookPath("docker"); err != nil {
			return nil, err
		}
	}
	// Short paths: unix socket names are limited to 108 bytes.
	state, err := os.MkdirTemp("", "lsdk-")
	if err != nil {
		return nil, err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	d := &Docker{
		CLI:          cli,
		Host:         "unix://" + filepath.Join(state, "docker.sock"),
		DataRoot:     filepath.Join(state, "data"),
		ExecRoot:     filepath.Join(state, "exec"),
		CgroupParent: "/leakscope-docker-" + hex.EncodeToString(b),
	}
	d.Bundles = filepath.Join(d.ExecRoot, "containerd", "daemon", "io.containerd.runtime.v2.task")
	logFile, err := os.Create(filepath.Join(state, "dockerd.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(dockerd,
		"--data-root", d.DataRoot, "--exec-root", d.ExecRoot, "--pidfile", filepath.Join(state, "dockerd.pid"),
		"-H", d.Host, "--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
		"--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent", d.CgroupParent, "--userland-proxy=false")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	d.pid = cmd.Process.Pid
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	t.Cleanup(func() { d.stop(t, state, exited) })
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		select {
		case <-exited:
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("dockerd exited at start:\n%s", tail(log, 30))
		default:
		}
		if _, err := d.run("version"); err == nil {
			return d, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("dockerd did not answer within 90 s:\n%s", tail(log, 30))
		}
	}
}

// stop removes the test's containers, ends the daemon it started (by PID)
// and its containerd, and removes what they left: cgroups and state.
func (d *Docker) stop(t *testing.T, state string, exited chan struct{}) {
	if ids, err := d.run("ps", "-aq"); err == nil && ids != "" {
		if out, err := d.run(append([]string{"rm", "-f"}, strings.Fields(ids)...)...); err != nil {
			t.Logf("removing containers: %v: %s", err, out)
		}
	}
	containerd := readPIDFile(filepath.Join(d.ExecRoot, "containerd", "containerd.pid"))
	_ = syscall.Kill(d.pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Logf("dockerd pid %d ignored SIGTERM for 30 s: killing it", d.pid)
		_ = syscall.Kill(d.pid, syscall.SIGKILL)
		<-exited
	}
	if containerd > 0 && processAlive(containerd) {
		_ = syscall.Kill(containerd, syscall.SIGKILL)
	}
	unmountBelow(state)
	removeCgroupEverywhere(t, d.CgroupParent)
	if err := os.RemoveAll(state); err != nil {
		t.Logf("removing docker state: %v", err)
	}
}

func readPIDFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && len(b) > i+2 && b[i+2] != 'Z'
}

// unmountBelow detaches whatever the daemon left mounted under dir
// (overlay layers, netns files), deepest first.
func unmountBelow(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			points = append(points, fields[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, p := range points {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

// removeCgroupEverywhere removes the group path (and what is below it)
// from every cgroup hierarchy: the cgroupfs driver makes it in each v1
// controller and in the unified hierarchy.
func removeCgroupEverywhere(t *testing.T, path string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, " - cgroup ") && !strings.Contains(line, " - cgroup2 ") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 5 || fields[3] != "/" {
			continue
		}
		RemoveCgroupTree(t, filepath.Join(fields[4], path))
	}
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (d *Docker) run(args ...string) (string, error) {
	cmd := exec.Command(d.CLI, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.Host, "DOCKER_BUILDKIT=0", "DOCKER_CONFIG="+filepath.Join(filepath.Dir(d.DataRoot), "cli"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return strings.TrimSpace(stdout.String() + stderr.String()), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Run runs the docker client against the test's daemon and returns its
// output; an error fails the test.
func (d *Docker) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.run(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RunErr is Run returning the error instead of failing the test.
func (d *Docker) RunErr(args ...string) (string, error) { return d.run(args...) }

// Build builds image tag FROM scratch holding files (name in the image ->
// path on the host; static binaries) with entrypoint as its ENTRYPOINT.
func (d *Docker) Build(t testing.TB, tag string, files map[string]string, entrypoint ...string) {
	t.Helper()
	ctx := t.TempDir()
	var df strings.Builder
	df.WriteString("FROM scratch\n")
	for _, name := range slices.Sorted(maps.Keys(files)) {
		b, err := os.ReadFile(files[name])
		if err != nil {
			t.Fatal(err)
		}
		local := strings.ReplaceAll(strings.TrimPrefix(name, "/"), "/", "_")
		if err := os.WriteFile(filepath.Join(ctx, local), b, 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&df, "COPY %s %s\n", local, name)
	}
	q := make([]string, len(entrypoint))
	for i, e := range entrypoint {
		q[i] = strconv.Quote(e)
	}
	fmt.Fprintf(&df, "ENTRYPOINT [%s]\n", strings.Join(q, ", "))
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(df.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Run(t, "build", "-q", "-t", tag, ctx)
}

// PID is the host PID of the container's main process (0 when stopped).
func (d *Docker) PID(t testing.TB, container string) int {
	t.Helper()
	n, err := strconv.Atoi(d.Run(t, "inspect", "-f", "{{.State.Pid}}", container))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ID is the container's full ID.
func (d *Docker) ID(t testing.TB, container string) string {
	t.Helper()
	return d.Run(t, "inspect", "-f", "{{.Id}}", container)
}

// Ctr runs containerd's client against the daemon's own containerd (the
// one dockerd started), in containerd namespace ns; an error fails the
// test.
func (d *Docker) Ctr(t testing.TB, ns string, args ...string) string {
	t.Helper()
	sock := filepath.Join(d.ExecRoot, "containerd", "containerd.sock")
	cmd := exec.Command("ctr", append([]string{"--address", sock, "--namespace", ns}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// RunContainerd runs image (from the Docker engine's store) as container
// id straight on the daemon's containerd, in namespace ns, with OCI
// annotations: the way containerd's CRI plugin runs a pod's container
// (its bundle under Bundles/<ns>/<id>), with a network namespace of its
// own holding only loopback, in cgroup cgroupPath; args is the whole
// command line (ctr does not keep the image's entrypoint). It is removed when the
// test ends, before the daemon stops.
func (d *Docker) RunContainerd(t testing.TB, ns, image, id, cgroupPath string, annotations map[string]string, args ...string) {
	t.Helper()
	tar := filepath.Join(t.TempDir(), "image.tar")
	d.Run(t, "save", "-o", tar, image)
	ref := "docker.io/" + image + ":latest"
	d.Ctr(t, ns, "images", "import", tar)
	run := []string{"run", "-d", "--cgroup", cgroupPath}
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		run = append(run, "--annotation", k+"="+annotations[k])
	}
	run = append(append(run, ref, id), args...)
	d.Ctr(t, ns, run...)
	t.Cleanup(func() {
		sock := filepath.Join(d.ExecRoot, "containerd", "containerd.sock")
		for _, c := range [][]string{{"task", "kill", "-s", "SIGKILL", id}, {"task", "delete", "-f", id}, {"container", "delete", id}} {
			out, err := exec.Command("ctr", append([]string{"--address", sock, "--namespace", ns}, c...)...).CombinedOutput()
			if err != nil && c[0] != "task" {
				t.Logf("ctr %s: %v: %s", strings.Join(c, " "), err, out)
			}
			if c[1] == "kill" {
				time.Sleep(500 * time.Millisecond)
			}
		}
	})
}

// ContainerdPID is the host PID of a containerd task's main process.
func (d *Docker) ContainerdPID(t testing.TB, ns, id string) int {
	t.Helper()
	for _, line := range strings.Split(d.Ctr(t, ns, "task", "ls"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == id {
			n, err := strconv.Atoi(f[1])
			if err == nil {
				return n
			}
		}
	}
	t.Fatalf("containerd task %s not listed", id)
	return 0
}

// RemoveCgroupTree removes dir and its descendants, deepest first; a group
// empties a moment after its last process is reaped, so each removal is
// retried for up to 5 s.
func RemoveCgroupTree(t testing.TB, dir string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		var err error
		for try := 0; try < 50; try++ {
			if err = syscall.Rmdir(dirs[i]); err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil && !errors.Is(err, syscall.ENOENT) {
			t.Errorf("removing cgroup %s: %v", dirs[i], err)
		}
	}
}
