package tracer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/tracer"
)

// overlayScript runs a binary the way containers of one image do: from
// its own overlayfs mount (private to its mount namespace) over a shared
// lower layer.
const overlayScript = `set -e
lower=$1 dir=$2; shift 2
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/merged"
exec "$dir/merged/leaky" "$@"`

// TestOverlayContainersShareProbes: two "containers" of one image see one
// binary through two overlay mounts, which stat tells apart by device.
// Uprobes attach to the real inode below, so keying probe sets on stat
// would attach twice there and every hit would run twice (each sample
// recorded a second time at an address already live, counted as
// address_reused). One probe set must serve both, with no such loss.
func TestOverlayContainersShareProbes(t *testing.T) {
	testutil.RequireBPF(t)
	lower := t.TempDir()
	testutil.Build(t, lower, "leaky", "./testdata/leaky")
	tr, err := tracer.New(tracer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	var pids []int
	var devs []uint64
	for i := range 2 {
		dir := t.TempDir()
		for _, d := range []string{"upper", "work", "merged"} {
			if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		p := testutil.Start(t, "unshare", "--mount", "--propagation", "private", "--fork", "--kill-child",
			"sh", "-c", overlayScript, "sh", lower, dir, "-leak=map", "-churn-rate=8388608")
		line := p.WaitLine(t, "ready", 15*time.Second)
		pid, err := strconv.Atoi(strings.TrimPrefix(line, "ready "))
		if err != nil {
			t.Fatalf("container %d: %q", i, line)
		}
		pids = append(pids, pid)
		var st syscall.Stat_t
		if err := syscall.Stat(fmt.Sprintf("/proc/%d/exe", pid), &st); err != nil {
			t.Fatal(err)
		}
		devs = append(devs, uint64(st.Dev))
	}
	if devs[0] == devs[1] {
		t.Logf("this kernel's overlayfs shows one device in stat for both mounts: the case is not exercised")
	}

	hooks := hooksOf(t, pids[0])
	for _, pid := range pids {
		if _, err := tr.Attach(uint32(pid), hooks); err != nil {
			t.Fatal(err)
		}
		sampleEvery(t, pid, hooks, 64*1024)
	}
	if n := tr.ProbeSets(); n != 1 {
		t.Errorf("two containers of one image: %d probe sets, want 1", n)
	}
	time.Sleep(2 * time.Second)
	snaps, err := tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		s := snaps[uint32(pid)]
		if s == nil {
			t.Fatalf("pid %d not reported", pid)
		}
		if s.Events["samples"] < 10 || s.Losses["address_reused"] != 0 {
			t.Errorf("pid %d: %d samples, %d address_reused; want >= 10 and 0 (each hit seen once)",
				pid, s.Events["samples"], s.Losses["address_reused"])
		}
	}
}
