package main_test

import (
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

// TestDockerScale measures leakscope watching 50 containers with --all:
// how long until all are watched, and leakscope's CPU time and resident
// memory over a minute of watching. A measurement for docs/DEPLOY.md, not
// part of make test: LEAKSCOPE_DOCKER_SCALE=1 runs it. It asserts only
// that all 50 are watched with one probe set.
func TestDockerScale(t *testing.T) {
	if os.Getenv("LEAKSCOPE_DOCKER_SCALE") != "1" {
		t.Skip("a measurement: LEAKSCOPE_DOCKER_SCALE=1 runs it")
	}
	const n = 50
	d := testutil.RequireDocker(t)
	dir := t.TempDir()
	leakscope := buildLeakscope(t, dir)
	leaky := testutil.Build(t, dir, "leaky", "./testdata/leaky")
	d.Build(t, "leakscope-test/leaky", map[string]string{"/app": leaky}, "/app")
	parent := d.CgroupParent + "/scale"
	m, err := cgroup.V2Mount()
	if err != nil {
		t.Fatal(err)
	}
	mkCgroup(t, filepath.Join(m.Point, strings.TrimPrefix(parent, m.Root)))
	out := filepath.Join(dir, "out")
	ls := testutil.Start(t, leakscope, "--all", "--within-cgroup", parent, "--docker-root", d.DataRoot, "--bundle-dir", d.Bundles,
		"--interval=10s", "--listen", "", "--out", out)
	began := time.Now()
	for i := range n {
		d.Run(t, "run", "-d", "--network", "none", "--cgroup-parent", parent, "--name", fmt.Sprintf("ls-scale-%d", i),
			"leakscope-test/leaky", "-leak=none", "-churn-rate=262144")
	}
	started := time.Since(began)
	doc, ok := pollDocker(out, 120*time.Second, func(doc dockerDoc) bool {
		w := 0
		for _, tg := range doc.Targets {
			if tg.Status == "watching" {
				w++
			}
		}
		return w == n
	})
	if !ok || doc.ProbeSets != 1 {
		t.Fatalf("%d targets, %d probe sets; want %d watched with 1", len(doc.Targets), doc.ProbeSets, n)
	}
	t.Logf("%d containers started in %v; all watched %v after the first docker run", n, started, time.Since(began))
	cpu0, at0 := cpuTime(t, ls.PID()), time.Now()
	time.Sleep(60 * time.Second)
	cpu1, at1 := cpuTime(t, ls.PID()), time.Now()
	rss, hwm := procStatusKB(t, ls.PID(), "VmRSS:"), procStatusKB(t, ls.PID(), "VmHWM:")
	t.Logf("leakscope watching %d containers: CPU %.1f%% of one core over %v, RSS %d MiB (peak %d MiB)",
		n, 100*(cpu1-cpu0).Seconds()/at1.Sub(at0).Seconds(), at1.Sub(at0).Round(time.Second), rss/1024, hwm/1024)
	ls.Signal(syscall.SIGTERM)
	if err := ls.Wait(t, 60*time.Second); err != nil {
		t.Errorf("leakscope after SIGTERM: %v", err)
	}
}

// cpuTime is the user and system time pid has used.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

func procStatusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
