package reliability

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/internal/testutil"
)

// TestTinyMaps watches a churn-only target (nothing leaks) with map
// capacities far too small, for longer than a leak verdict needs: the
// loss counters rise, the target is reported incomplete (suspects.json
// and the table), and no suspect is called a leak.
func TestTinyMaps(t *testing.T) {
	testutil.RequireBPF(t)
	if testing.Short() {
		t.Skip("watches for 65 s")
	}
	t.Parallel() // mostly waiting
	bin := buildCLI(t)
	p, _, _ := startTarget(t, "-leak=none", "-churn-rate=33554432")
	out := filepath.Join(t.TempDir(), "out")
	code, log := runCLI(t, bin, "--pid", strconv.Itoa(p.PID()), "--duration=65s", "--interval=5s",
		"--memprofilerate=65536", "--max-live-objects=4", "--max-stack-stats=1", "--max-stacks=4", "--state-dir=", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, log)
	}
	d := readDoc(t, filepath.Join(out, "suspects.json"))
	if len(d.Targets) != 1 {
		t.Fatalf("targets %+v", d.Targets)
	}
	tg := d.Targets[0]
	t.Logf("lost %v; incomplete %v; %d suspects", tg.Lost, tg.Incomplete, len(tg.Suspects))
	if tg.Lost["live_map_full"] == 0 {
		t.Errorf("lost %v: want live_map_full above zero", tg.Lost)
	}
	if len(tg.Incomplete) == 0 {
		t.Errorf("suspects.json does not mark the target incomplete")
	}
	if !strings.Contains(log, "incomplete: frees may be missing") {
		t.Errorf("the table does not say the target is incomplete:\n%s", log)
	}
	for _, s := range tg.Suspects {
		if s.Verdict == "leak" {
			t.Errorf("leak verdict for %s with frees missing", s.Function)
		}
	}
	if p.Exited() {
		t.Errorf("target died: %q", p.Lines())
	}
}
