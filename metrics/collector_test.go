package metrics

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/report"
	"github.com/leakscope/leakscope/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden exposition")

// sampleUpdate has one watched target with a leak and a watch suspect
// (two of them at one function, which must merge into one series), and
// one exited target whose series must be gone.
func sampleUpdate() *report.Update {
	agreement := 0.5
	overhead, ownCPU, limit1m, limit5m := 0.004, 0.001, 2.7e6, 4.6e5
	return &report.Update{
		Doc: &report.Document{
			GeneratedAt: time.Unix(1700000000, 500000000),
			ProbeSets:   1,
			Skipped:     []report.Skipped{{PID: 7, Exe: "sh", Reason: "not a Go program"}},
			Targets: []report.Target{
				{
					PID: 4242, HostPID: 4242, NSPID: 1, Exe: "shop", ContainerID: "abc123", ContainerName: "app", Pod: "shop-7d9f", Namespace: "prod", Status: report.StatusWatching,
					MemProfileRate: 524288, MemProfileRateSetByLeakscope: true,
					GCCycles: 37, SampledAllocs: 1000, SampledFrees: 900, SampledLiveBytes: 65536,
					Lost:   map[string]uint64{"live_full": 3, "unmatched_free": 0},
					Events: map[string]uint64{"alloc": 1000},
					Cost: &report.Cost{EffectiveRate: 524288, ConfiguredRate: 524288 / 32, EstimatedOverhead: &overhead, OwnCPU: &ownCPU, MaxOverhead: 0.01,
						BudgetActive: true, DetectionLimit1m: &limit1m, DetectionLimit5m: &limit5m},
					Pprof: &crosscheck.TargetCheck{Status: crosscheck.StatusOK, AgreementScore: &agreement, Agreed: 1, Disagreed: 1,
						Fetches: 12, Failures: 2, ScalingAffectedByLeakscope: true},
					Suspects: []analysis.Suspect{
						{Function: "main.remember", LiveBytes: 8 << 20, OldBytes: 6 << 20, GrowthBytesPerSecond: 100000, Score: 0.9, Verdict: analysis.VerdictLeak,
							Pprof: &analysis.PprofCheck{Status: analysis.PprofAgrees, InuseBytes: 9 << 20}},
						{Function: "main.cache", LiveBytes: 1 << 20, OldBytes: 1 << 19, GrowthBytesPerSecond: 1000, Score: 0.2, Verdict: analysis.VerdictWatch,
							Pprof: &analysis.PprofCheck{Status: analysis.PprofUnavailable}},
						{Function: "main.cache", LiveBytes: 1 << 20, OldBytes: 1 << 19, GrowthBytesPerSecond: 500, Score: 0.4, Verdict: analysis.VerdictWatch,
							Pprof: &analysis.PprofCheck{Status: analysis.PprofDisagrees, InuseBytes: 1 << 10}},
					},
				},
				{PID: 99, Exe: "gone", Status: report.StatusExited, GCCycles: 5},
			},
		},
		MapBytes:         map[string]uint64{"live": 1 << 20, "stacks": 2 << 20},
		Programs:         map[string]snapshot.ProgramStat{"setprofilebucket": {Runs: 10, RunTime: 1500 * time.Nanosecond}},
		SnapshotDuration: 25 * time.Millisecond,
	}
}

func TestExpositionGolden(t *testing.T) {
	u := sampleUpdate()
	c := NewCollector(func() *report.Update { return u })
	c.version = "v1.2.3" // the test binary has no module version
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)

	golden := filepath.Join("testdata", "exposition.prom")
	if *update {
		got := exposition(t, reg)
		got = bytes.ReplaceAll(got, []byte(goVersion()), []byte("GOVERSION"))
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	want = bytes.ReplaceAll(want, []byte("GOVERSION"), []byte(goVersion()))
	if err := testutil.GatherAndCompare(reg, bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c, "leakscope_suspect_live_bytes"); n != 2 {
		t.Errorf("suspect series = %d, want 2 (two sites; the exited target's gone)", n)
	}
}

func TestExitedTargetsAndVanishedSuspectsDisappear(t *testing.T) {
	u := sampleUpdate()
	c := NewCollector(func() *report.Update { return u })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	before, err := testutil.GatherAndCount(reg, "leakscope_suspect_score")
	if err != nil || before != 2 {
		t.Fatalf("before: %d series, %v; want 2", before, err)
	}
	next := sampleUpdate()
	next.Doc.Targets[0].Suspects = next.Doc.Targets[0].Suspects[:1]
	u = next
	after, _ := testutil.GatherAndCount(reg, "leakscope_suspect_score")
	if after != 1 {
		t.Errorf("after a suspect vanished: %d series, want 1", after)
	}
	next = sampleUpdate()
	next.Doc.Targets[0].Status = report.StatusExited
	u = next
	for _, name := range []string{"leakscope_suspect_score", "leakscope_target_gc_cycles_total", "leakscope_target_lost_total"} {
		if n, _ := testutil.GatherAndCount(reg, name); n != 0 {
			t.Errorf("after the target exited: %d series of %s, want 0", n, name)
		}
	}
}

func TestBeforeFirstInterval(t *testing.T) {
	c := NewCollector(func() *report.Update { return nil })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	got := exposition(t, reg)
	if !strings.Contains(string(got), "leakscope_build_info") || strings.Contains(string(got), "leakscope_target_") {
		t.Errorf("before the first interval want only build info, got:\n%s", got)
	}
}

// exposition is what /metrics serves from reg, in the text format.
func exposition(t *testing.T, reg prometheus.Gatherer) []byte {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// The metrics' rank is the JSON's order: every leak first, then growth.
func TestRankAgreesWithSuspects(t *testing.T) {
	in := []analysis.Suspect{
		{Function: "encoding/hex.EncodeToString", Verdict: analysis.VerdictWatch, Score: 0.75, GrowthBytesPerSecond: 1e6},
		{Function: "main.rememberSession", Verdict: analysis.VerdictLeak, Score: 0.69, GrowthBytesPerSecond: 1e4},
		{Function: "main.other", Verdict: analysis.VerdictLeak, Score: 0.9, GrowthBytesPerSecond: 1e5},
		{Function: "main.rememberSession", Verdict: analysis.VerdictWatch, GrowthBytesPerSecond: 1e3},
	}
	var got []string
	for _, s := range bySite(in) {
		got = append(got, s.Function)
	}
	if want := "main.other main.rememberSession encoding/hex.EncodeToString"; strings.Join(got, " ") != want {
		t.Fatalf("rank order %v, want %s", got, want)
	}
}
