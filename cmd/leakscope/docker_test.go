package main_test

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/leakscope/leakscope/cgroup"
	"github.com/leakscope/leakscope/internal/testutil"
)

// dockerDoc is the part of suspects.json about containers.
type dockerDoc struct {
	Targets   []dockerTarget `json:"targets"`
	ProbeSets int            `json:"probe_sets"`
}

type dockerTarget struct {
	HostPID       int    `json:"host_pid"`
	NSPID         int    `json:"ns_pid"`
	ContainerID   string `json:"container_id"`
	ContainerName string `json:"container_name"`
	Pod           string `json:"pod"`
	Namespace     string `json:"namespace"`
	PodUID        string `json:"pod_uid"`
	Status        string `json:"status"`
	Exe           string `json:"exe"`
	GoVersion     string `json:"go_version"`
	Suspects      []struct {
		Function string `json:"function"`
		Verdict  string `json:"verdict"`
	} `json:"suspects"`
}

// pollDocker reads out/suspects.json until ok accepts it or timeout passes.
func pollDocker(out string, timeout time.Duration, ok func(dockerDoc) bool) (dockerDoc, bool) {
	var doc dockerDoc
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(out, "suspects.json"))
		if err != nil {
			continue
		}
		doc = dockerDoc{}
		if json.Unmarshal(b, &doc) == nil && ok(doc) {
			return doc, true
		}
	}
	return doc, false
}

// targetStatus is the status of the target with this host pid and
// container ID ("watching" if one of several is), "" when absent.
func (d dockerDoc) targetStatus(pid int, id string) string {
	status := ""
	for _, t := range d.Targets {
		if t.HostPID == pid && t.ContainerID == id && status != "watching" {
			status = t.Status
		}
	}
	return status
}

// leakscopeImages are the fixture images of the Docker tests: the leaky
// fixture built by the machine's Go, and the matrix fixture built by Go
// 1.22, both static and alone in an image FROM scratch.
type leakscopeImages struct{ leaky, old, oldVersion string }

func buildFixtureImages(t *testing.T, d *testutil.Docker, dir string) leakscopeImages {
	t.Helper()
	leaky := testutil.Build(t, dir, "leaky", "./testdata/leaky")
	requireStatic(t, leaky)
	const oldGo = "go1.22.12"
	old := filepath.Join(dir, "matrix-go122")
	root := testutil.ModuleRoot(t)
	err := testutil.GoBuild{Toolchain: oldGo, GOARCH: "amd64", CGO: "0"}.Build(dir, old,
		filepath.Join(root, "testdata/matrix/main.go"), filepath.Join(root, "testdata/matrix/nocgo.go"))
	if err != nil {
		t.Fatalf("building the Go 1.22 fixture: %v", err)
	}
	requireStatic(t, old)
	imgs := leakscopeImages{leaky: "leakscope-test/leaky", old: "leakscope-test/matrix-go122", oldVersion: oldGo}
	d.Build(t, imgs.leaky, map[string]string{"/app": leaky}, "/app")
	d.Build(t, imgs.old, map[string]string{"/app": old}, "/app")
	return imgs
}

// requireStatic: an image FROM scratch has no dynamic loader.
func requireStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked: it cannot run FROM scratch", bin)
		}
	}
}

// TestDocker watches containers of a real Docker engine the test starts
// for itself (no bridge, containers on --network none or host):
//   - names: --container by Docker name and by ID prefix; Kubernetes names
//     from the labels cri-dockerd sets and from the CRI annotations of a
//     container run on the engine's containerd (its OCI bundle), in
//     suspects.json, the metrics, the
//     profile and the web view's namespace filter; every PromQL expression
//     of the Grafana dashboard and the alert rules against a real
//     Prometheus scraping it (TestDashboardQueries' checks).
//   - all: --all (scoped to the test's cgroup) finds containers started
//     after leakscope, two containers of one image share one probe set, a
//     Go 1.22 container, a container whose process re-executes, a
//     restarted container re-attached, a removed one gone with its series.
//   - image: the repository's Dockerfile built by the engine and run as
//     the DaemonSet runs it, watching a container, its /metrics scraped.
func TestDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a container engine and watches containers for about two minutes")
	}
	d := testutil.RequireDocker(t)
	dir := t.TempDir()
	leakscope := buildLeakscope(t, dir)
	imgs := buildFixtureImages(t, d, dir)
	t.Run("names", func(t *testing.T) {
		t.Parallel()
		dockerNames(t, d, leakscope, imgs)
	})
	t.Run("all", func(t *testing.T) {
		t.Parallel()
		dockerAll(t, d, leakscope, imgs)
	})
	t.Run("image", func(t *testing.T) {
		t.Parallel()
		dockerImage(t, d, imgs)
	})
}

// k8sLabels are what cri-dockerd puts on a pod's container.
func k8sLabels(pod, namespace, container, uid string) []string {
	return []string{
		"--label", "io.kubernetes.pod.name=" + pod,
		"--label", "io.kubernetes.pod.namespace=" + namespace,
		"--label", "io.kubernetes.container.name=" + container,
		"--label", "io.kubernetes.pod.uid=" + uid,
		"--label", "io.kubernetes.docker.type=container",
	}
}

func dockerNames(t *testing.T, d *testutil.Docker, leakscope string, imgs leakscopeImages) {
	dir := t.TempDir()
	suffix := randomHex(t, 3)
	plainName, podName := "ls-plain-"+suffix, "k8s_app_shop-7d9f_prod_"+suffix
	const uid = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
	parent := d.CgroupParent + "/names"
	web := d.Run(t, append(append([]string{"run", "-d", "--network", "none", "--cgroup-parent", parent, "--name", podName},
		k8sLabels("shop-7d9f", "prod", "app", uid)...), imgs.leaky, "-leak=map", "-churn-rate=16777216")...)
	plain := d.Run(t, "run", "-d", "--network", "none", "--cgroup-parent", parent, "--name", plainName, imgs.leaky, "-leak=none", "-churn-rate=2097152")
	webPID, plainPID := d.PID(t, web), d.PID(t, plain)
	// A pod's container run by containerd the way its CRI plugin does:
	// the bundle's config.json carries the CRI annotations.
	ctrd := randomHex(t, 32)
	const ctrdUID = "11111111-2222-3333-4444-555555555555"
	d.RunContainerd(t, "k8s.io", imgs.leaky, ctrd, parent+"/"+ctrd, map[string]string{
		"io.kubernetes.cri.container-type":    "container",
		"io.kubernetes.cri.container-name":    "worker",
		"io.kubernetes.cri.sandbox-id":        randomHex(t, 32),
		"io.kubernetes.cri.sandbox-name":      "worker-5b6c",
		"io.kubernetes.cri.sandbox-namespace": "batch",
		"io.kubernetes.cri.sandbox-uid":       ctrdUID,
	}, "/app", "-leak=none", "-churn-rate=2097152")
	ctrdPID := d.ContainerdPID(t, "k8s.io", ctrd)

	// An unknown name is a clean error before anything is loaded.
	code, log := runLeakscope(t, leakscope, nil, "--container", "no-such-container-"+suffix, "--docker-root", d.DataRoot, "--bundle-dir", d.Bundles, "--listen", "")
	wantCleanError(t, code, log, "not a container ID, nor the name of a running container")

	addr := testutil.LoopbackAddr(testutil.FreePort(t))
	out := filepath.Join(dir, "out")
	ls := testutil.Start(t, leakscope, "--container", plainName, "--container", web[:12], "--container", ctrd[:12],
		"--docker-root", d.DataRoot, "--bundle-dir", d.Bundles, "--interval=2s", "--listen", addr, "--out", out)
	base := "http://" + addr
	waitHTTP(t, base+"/healthz", 20*time.Second)

	// A second leakscope with maps too small for its target, so that the
	// dashboard's loss panels and the loss alert have data.
	lossy := startLossyWatch(t, leakscope, dir)
	prom := startPrometheus(t, dir, addr, lossy)

	doc, ok := pollDocker(out, 150*time.Second, func(doc dockerDoc) bool {
		return hasLeak(doc, web, "main.leakMap") && doc.targetStatus(plainPID, plain) == "watching" && doc.targetStatus(ctrdPID, ctrd) == "watching"
	})
	if !ok {
		t.Fatalf("within 150 s: want %s (pid %d) watched with a leak at main.leakMap and %s (pid %d) watched; suspects.json %+v",
			podName, webPID, plainName, plainPID, doc)
	}
	for _, tg := range doc.Targets {
		var want [4]string
		switch tg.ContainerID {
		case web:
			want = [4]string{"app", "shop-7d9f", "prod", uid}
		case plain:
			want = [4]string{plainName, "", "", ""}
		case ctrd:
			want = [4]string{"worker", "worker-5b6c", "batch", ctrdUID}
		default:
			t.Errorf("target %+v: not a container the test named", tg)
			continue
		}
		if got := [4]string{tg.ContainerName, tg.Pod, tg.Namespace, tg.PodUID}; got != want || tg.NSPID != 1 {
			t.Errorf("container %s: names %q, ns_pid %d; want %q and pid 1", tg.ContainerID[:12], got, tg.NSPID, want)
		}
	}

	metrics := httpGet(t, base+"/metrics")
	for _, want := range []string{
		fmt.Sprintf(`leakscope_suspect_leak{container="app",container_id="%s",exe="app",function="main.leakMap",namespace="prod",ns_pid="1",pid="%d",pod="shop-7d9f"} 1`, web, webPID),
		fmt.Sprintf(`leakscope_target_sampled_allocs_total{container="%s",container_id="%s",exe="app",namespace="",ns_pid="1",pid="%d",pod=""}`, plainName, plain, plainPID),
		fmt.Sprintf(`leakscope_target_sampled_allocs_total{container="worker",container_id="%s",exe="app",namespace="batch",ns_pid="1",pid="%d",pod="worker-5b6c"}`, ctrd, ctrdPID),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	p, err := profile.ParseData([]byte(httpGet(t, fmt.Sprintf("%s/profiles/%d/leak.pb.gz", base, webPID))))
	if err != nil || !strings.Contains(strings.Join(p.Comments, "\n"), "container "+web+" (prod/shop-7d9f/app)") {
		t.Errorf("leak profile of %s: %v; comments %q lack the container's names", podName, err, p.Comments)
	}
	page := httpGet(t, base+"/?namespace=prod")
	if !strings.Contains(page, fmt.Sprintf(`id="pid-%d"`, webPID)) || strings.Contains(page, fmt.Sprintf(`id="pid-%d"`, plainPID)) ||
		strings.Contains(page, fmt.Sprintf(`id="pid-%d"`, ctrdPID)) || !strings.Contains(page, `<a href="/?namespace=batch">batch</a>`) ||
		!strings.Contains(page, `pod <span class="pod">prod/shop-7d9f</span>`) {
		t.Errorf("web view ?namespace=prod: want the pod's target only, with its names:\n%s", page)
	}

	checkDashboardQueries(t, prom, "main.leakMap", "prod", "shop-7d9f")

	ls.Signal(syscall.SIGTERM)
	if err := ls.Wait(t, 20*time.Second); err != nil {
		t.Errorf("leakscope after SIGTERM: %v", err)
	}
}

func hasLeak(doc dockerDoc, id, function string) bool {
	for _, tg := range doc.Targets {
		if tg.ContainerID != id || tg.Status != "watching" {
			continue
		}
		for _, s := range tg.Suspects {
			if s.Function == function && s.Verdict == "leak" {
				return true
			}
		}
	}
	return false
}

func dockerAll(t *testing.T, d *testutil.Docker, leakscope string, imgs leakscopeImages) {
	dir := t.TempDir()
	suffix := randomHex(t, 3)
	parent := d.CgroupParent + "/all"
	// The scope must exist before leakscope starts; the daemon's cleanup
	// removes it from every hierarchy.
	m, err := cgroup.V2Mount()
	if err != nil {
		t.Fatal(err)
	}
	mkCgroup(t, filepath.Join(m.Point, strings.TrimPrefix(parent, m.Root)))
	out := filepath.Join(dir, "out")
	addr := testutil.LoopbackAddr(testutil.FreePort(t))
	ls := testutil.Start(t, leakscope, "--all", "--within-cgroup", parent, "--docker-root", d.DataRoot, "--bundle-dir", d.Bundles,
		"--interval=2s", "--listen", addr, "--out", out)
	waitHTTP(t, "http://"+addr+"/healthz", 20*time.Second)

	run := func(name string, args ...string) (id string, pid int, started time.Time) {
		id = d.Run(t, append([]string{"run", "-d", "--network", "none", "--cgroup-parent", parent, "--name", name}, args...)...)
		return id, d.PID(t, id), time.Now()
	}
	waitWatched := func(what string, pid int, id string, since time.Time) time.Duration {
		t.Helper()
		if doc, ok := pollDocker(out, 20*time.Second, func(doc dockerDoc) bool { return doc.targetStatus(pid, id) == "watching" }); !ok {
			t.Fatalf("%s (pid %d) not watched within 20 s: %+v", what, pid, doc)
		}
		return time.Since(since)
	}

	// Started after leakscope: found by --all within seconds.
	a, aPID, aStart := run("ls-a-"+suffix, imgs.leaky, "-leak=map", "-churn-rate=4194304")
	t.Logf("attach time of a new container (docker run returned -> watching): %v", waitWatched("container a", aPID, a, aStart))
	if doc, _ := pollDocker(out, time.Second, func(dockerDoc) bool { return true }); !slices.ContainsFunc(doc.Targets, func(tg dockerTarget) bool {
		return tg.ContainerID == a && tg.ContainerName == "ls-a-"+suffix
	}) {
		t.Errorf("container a not named ls-a-%s in suspects.json: %+v", suffix, doc.Targets)
	}
	b, bPID, bStart := run("ls-b-"+suffix, imgs.leaky, "-leak=none", "-churn-rate=2097152")
	waitWatched("container b (same image)", bPID, b, bStart)
	c, cPID, cStart := run("ls-c-"+suffix, "-i", imgs.old)
	waitWatched("container c (Go 1.22)", cPID, c, cStart)
	e, ePID, eStart := run("ls-e-"+suffix, imgs.leaky, "-leak=none", "-churn-rate=2097152", "-exec-after=6s", "-exec=/app", "--", "-leak=slice")
	waitWatched("container e (re-executes)", ePID, e, eStart)

	doc, _ := pollDocker(out, 10*time.Second, func(doc dockerDoc) bool { return doc.ProbeSets == 2 })
	if doc.ProbeSets != 2 {
		t.Errorf("probe_sets %d with containers of two images, want 2 (three containers of one image share one)", doc.ProbeSets)
	}
	for _, tg := range doc.Targets {
		if tg.ContainerID == c && !strings.HasPrefix(tg.GoVersion, imgs.oldVersion) {
			t.Errorf("container c: go_version %q, want %s", tg.GoVersion, imgs.oldVersion)
		}
		// runc's init process (Go, in the container's cgroup until the
		// program starts) is the runtime's, never a target.
		if tg.Exe != "app" {
			t.Errorf("target %+v: not the containers' program", tg)
		}
	}

	// The re-executed program is a new target under the same pid.
	if b, _ := os.ReadFile("/proc/sys/kernel/randomize_va_space"); strings.TrimSpace(string(b)) != "0" {
		doc, ok := pollDocker(out, 30*time.Second, func(doc dockerDoc) bool {
			replaced, watching := 0, 0
			for _, tg := range doc.Targets {
				if tg.HostPID == ePID && tg.ContainerID == e {
					switch tg.Status {
					case "replaced":
						replaced++
					case "watching":
						watching++
					}
				}
			}
			return replaced == 1 && watching == 1
		})
		if !ok {
			t.Errorf("container e (pid %d) re-executed: want its first program replaced and the new one watched: %+v", ePID, doc)
		}
	}

	// Restarted: the same container, a new process, watched anew; the
	// old process is reported exited. History starts again with the new
	// process (a target is a process).
	d.Run(t, "restart", "-t", "2", a)
	restarted := time.Now()
	aPID2 := d.PID(t, a)
	if aPID2 == aPID || aPID2 == 0 {
		t.Fatalf("container a pid %d after restart (was %d)", aPID2, aPID)
	}
	t.Logf("re-attach time after docker restart: %v", waitWatched("container a restarted", aPID2, a, restarted))
	if doc, ok := pollDocker(out, 10*time.Second, func(doc dockerDoc) bool { return doc.targetStatus(aPID, a) == "exited" }); !ok {
		t.Errorf("container a's first process not reported exited after the restart: %+v", doc)
	}

	// Stopped and removed: its target exited, its series gone.
	d.Run(t, "rm", "-f", b)
	if doc, ok := pollDocker(out, 15*time.Second, func(doc dockerDoc) bool { return doc.targetStatus(bPID, b) == "exited" }); !ok {
		t.Errorf("removed container b not reported exited: %+v", doc)
	}
	var metrics string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if metrics = httpGet(t, "http://"+addr+"/metrics"); !strings.Contains(metrics, b) {
			break
		}
	}
	if strings.Contains(metrics, b) {
		t.Errorf("/metrics still has series of the removed container b %s", b[:12])
	}
	for _, id := range []string{a, c, e} {
		if !strings.Contains(metrics, `container_id="`+id+`"`) {
			t.Errorf("/metrics has no series of running container %s", id[:12])
		}
	}
	ls.Signal(syscall.SIGTERM)
	if err := ls.Wait(t, 20*time.Second); err != nil {
		t.Errorf("leakscope after SIGTERM: %v", err)
	}
}

// dockerImage builds the repository's Dockerfile with the engine, from
// the static binary `make image` builds, and runs it like the DaemonSet:
// host PID namespace, the capabilities of DEPLOY.md (CAP_SYS_ADMIN in
// place of BPF and PERFMON, which Docker 20.10 does not know), read-only
// root, the output and state directories and the runtime's metadata
// (read-only) mounted, host network to serve /metrics on loopback.
func dockerImage(t *testing.T, d *testutil.Docker, imgs leakscopeImages) {
	root := testutil.ModuleRoot(t)
	ctx := t.TempDir()
	bin := filepath.Join(ctx, "bin", "linux-amd64", "leakscope")
	build := runIn(root, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"},
		"go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/leakscope")
	if build != "" {
		t.Fatalf("building the static binary: %s", build)
	}
	requireStatic(t, bin)
	for _, f := range []string{"Dockerfile", ".dockerignore"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ctx, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	image := "leakscope-test/leakscope"
	d.Run(t, "build", "-q", "-t", image, ctx)

	suffix := randomHex(t, 3)
	name := "ls-watched-" + suffix
	target := d.Run(t, "run", "-d", "--network", "none", "--name", name, imgs.leaky, "-leak=map", "-churn-rate=4194304")
	pid := d.PID(t, target)
	outDir, stateDir := t.TempDir(), t.TempDir()
	port := testutil.FreePort(t)
	caps := []string{"--cap-drop", "ALL", "--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE"}
	if inBoundingSet(t, 24) { // CAP_SYS_RESOURCE: only kernels before 5.11 need it; this VM withholds it
		caps = append(caps, "--cap-add", "SYS_RESOURCE")
	}
	self := d.Run(t, append(append([]string{"run", "-d", "--name", "ls-self-" + suffix,
		"--pid=host", "--network=host", "--read-only"}, caps...),
		"--security-opt", "seccomp=unconfined",
		"-v", outDir+":/var/lib/leakscope", "-v", stateDir+":/run/leakscope",
		"-v", filepath.Join(d.DataRoot, "containers")+":/var/lib/docker/containers:ro",
		"-v", d.Bundles+":/run/docker/containerd/daemon/io.containerd.runtime.v2.task:ro",
		image, "--container", name, "--listen", testutil.LoopbackAddr(port), "--out", "/var/lib/leakscope", "--interval=2s")...)
	base := "http://" + testutil.LoopbackAddr(port)
	defer func() {
		if t.Failed() {
			logs, _ := d.RunErr("logs", self)
			t.Logf("leakscope container log:\n%s", logs)
		}
	}()
	waitHTTP(t, base+"/healthz", 30*time.Second)
	// The leak site, labelled with the container's name (a verdict takes
	// more GC cycles than this test waits for; the names test checks it).
	want := fmt.Sprintf(`leakscope_suspect_growth_bytes_per_second{container="%s",container_id="%s",exe="app",function="main.leakMap",namespace="",ns_pid="1",pid="%d",pod=""}`, name, target, pid)
	var metrics string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		if metrics = httpGet(t, base+"/metrics"); strings.Contains(metrics, want) {
			break
		}
	}
	if !strings.Contains(metrics, want) {
		t.Fatalf("the image's /metrics never had %s within 60 s:\n%s", want, metrics)
	}
	// A clean stop restores the target's sampling rate and exits 0.
	d.Run(t, "stop", "-t", "20", self)
	if code := d.Run(t, "inspect", "-f", "{{.State.ExitCode}}", self); code != "0" {
		logs, _ := d.RunErr("logs", self)
		t.Errorf("leakscope's container exited %s:\n%s", code, logs)
	}
	if rate := readProfileRate(t, pid); rate != 0 {
		t.Errorf("watched container's MemProfileRate %d after leakscope stopped, want its own 0 back", rate)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) == 0 {
		t.Error("nothing written to the mounted output directory")
	}
}

// inBoundingSet reports whether capability bit is in the test's bounding
// set (what the engine can hand out).
func inBoundingSet(t *testing.T, bit uint) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && n&(1<<bit) != 0
		}
	}
	return false
}

// runIn runs a command in dir with extra environment and returns its
// output when it fails, "" when it succeeds.
func runIn(dir string, env []string, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Sprintf("%v: %s", err, b)
	}
	return ""
}
