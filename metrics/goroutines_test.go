package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/report"
)

// TestGoroutineSeries: live goroutines by state, what was lost, and one
// series per creation function (two groups of one function summed), for
// a watched target; only the status for a target whose part failed.
func TestGoroutineSeries(t *testing.T) {
	u := sampleUpdate()
	site := func(fn string, line int) goroutines.Site {
		return goroutines.Site{Function: fn, File: "main.go", Line: line}
	}
	u.Doc.Targets[0].Goroutines = &report.Goroutines{Status: report.GoroutinesWatching, ReadSeconds: 0.002,
		Summary: goroutines.Summary{Live: map[string]int{"waiting": 40, "running": 2}, Skipped: 3, Dropped: map[string]int{"bad_status": 1}},
		Suspects: []goroutines.Suspect{
			{CreatedBy: site("main.leak", 10), Count: 30, GrowthPerSecond: 2, StackBytes: 30 << 11, Verdict: goroutines.VerdictLeak},
			{CreatedBy: site("main.leak", 12), Count: 5, GrowthPerSecond: 0.5, StackBytes: 5 << 11},
			{CreatedBy: site("main.pool", 20), Count: 7, StackBytes: 7 << 11},
		}}
	u.Doc.Targets = append(u.Doc.Targets, report.Target{PID: 5, NSPID: 5, Exe: "old", Status: report.StatusWatching,
		Goroutines: &report.Goroutines{Status: report.GoroutinesError, Reason: "no layout"}})
	want := `
# HELP leakscope_goroutine_suspect_goroutines Goroutines of the creation site.
# TYPE leakscope_goroutine_suspect_goroutines gauge
leakscope_goroutine_suspect_goroutines{container="app",container_id="abc123",created_by="main.leak",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f"} 35
leakscope_goroutine_suspect_goroutines{container="app",container_id="abc123",created_by="main.pool",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f"} 7
# HELP leakscope_goroutine_suspect_leak 1 when the creation site's verdict is leak, 0 otherwise.
# TYPE leakscope_goroutine_suspect_leak gauge
leakscope_goroutine_suspect_leak{container="app",container_id="abc123",created_by="main.leak",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f"} 1
leakscope_goroutine_suspect_leak{container="app",container_id="abc123",created_by="main.pool",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f"} 0
# HELP leakscope_goroutines_live Live goroutines of the target at the last read, by state.
# TYPE leakscope_goroutines_live gauge
leakscope_goroutines_live{container="app",container_id="abc123",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f",state="running"} 2
leakscope_goroutines_live{container="app",container_id="abc123",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f",state="waiting"} 40
# HELP leakscope_goroutines_lost Goroutines of the last read not counted, by reason (skipped over the cap, g structs that did not validate, ungrouped).
# TYPE leakscope_goroutines_lost gauge
leakscope_goroutines_lost{container="app",container_id="abc123",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f",reason="bad_status"} 1
leakscope_goroutines_lost{container="app",container_id="abc123",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f",reason="skipped"} 3
leakscope_goroutines_lost{container="app",container_id="abc123",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f",reason="ungrouped"} 0
# HELP leakscope_goroutines_reading 1 when the target's goroutines are read and verified, 0 when that part is off or failed.
# TYPE leakscope_goroutines_reading gauge
leakscope_goroutines_reading{container="",container_id="",exe="old",namespace="",ns_pid="5",pid="5",pod=""} 0
leakscope_goroutines_reading{container="app",container_id="abc123",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f"} 1
`
	c := NewCollector(func() *report.Update { return u })
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"leakscope_goroutine_suspect_goroutines", "leakscope_goroutine_suspect_leak", "leakscope_goroutines_live",
		"leakscope_goroutines_lost", "leakscope_goroutines_reading"); err != nil {
		t.Error(err)
	}
}

// TestGoroutinePprofSeries: the cross-check with the target's own
// goroutine profile: per creation function 1/0 (0 when one of its groups
// disagrees, absent when none was compared), per target the totals and
// the suspects by status.
func TestGoroutinePprofSeries(t *testing.T) {
	u := sampleUpdate()
	site := func(fn string, line int) goroutines.Site {
		return goroutines.Site{Function: fn, File: "main.go", Line: line}
	}
	check := func(status string) *goroutines.PprofCheck { return &goroutines.PprofCheck{Status: status} }
	u.Doc.Targets[0].Goroutines = &report.Goroutines{Status: report.GoroutinesWatching,
		Summary: goroutines.Summary{Live: map[string]int{"waiting": 42}},
		Suspects: []goroutines.Suspect{
			{CreatedBy: site("main.leak", 10), Count: 30, Pprof: check(goroutines.PprofAgrees)},
			{CreatedBy: site("main.leak", 12), Count: 5, Pprof: check(goroutines.PprofDisagrees)},
			{CreatedBy: site("main.pool", 20), Count: 7, Pprof: check(goroutines.PprofAgrees)},
			{CreatedBy: site("runtime.gcenable", 20), Count: 1, Pprof: check(goroutines.PprofUnavailable)},
		},
		Pprof: &crosscheck.GoroutineCheck{Status: crosscheck.StatusOK, TotalStatus: goroutines.PprofAgrees, Agreed: 2, Disagreed: 1, Unavailable: 1},
	}
	want := `
# HELP leakscope_goroutine_suspect_pprof_agrees 1 when the target's own goroutine profile counts as many goroutines where the creation site's goroutines are blocked, 0 when not; absent when not compared.
# TYPE leakscope_goroutine_suspect_pprof_agrees gauge
leakscope_goroutine_suspect_pprof_agrees{container="app",container_id="abc123",created_by="main.leak",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f"} 0
leakscope_goroutine_suspect_pprof_agrees{container="app",container_id="abc123",created_by="main.pool",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f"} 1
# HELP leakscope_goroutines_pprof_suspects Goroutine suspects by cross-check status with the target's own goroutine profile (agrees, disagrees, unavailable).
# TYPE leakscope_goroutines_pprof_suspects gauge
leakscope_goroutines_pprof_suspects{container="app",container_id="abc123",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f",status="agrees"} 2
leakscope_goroutines_pprof_suspects{container="app",container_id="abc123",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f",status="disagrees"} 1
leakscope_goroutines_pprof_suspects{container="app",container_id="abc123",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f",status="unavailable"} 1
# HELP leakscope_goroutines_pprof_totals_agree 1 when the target's own goroutine profile and leakscope count as many goroutines outside the runtime, 0 when not; absent when not compared.
# TYPE leakscope_goroutines_pprof_totals_agree gauge
leakscope_goroutines_pprof_totals_agree{container="app",container_id="abc123",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f"} 1
`
	c := NewCollector(func() *report.Update { return u })
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"leakscope_goroutine_suspect_pprof_agrees", "leakscope_goroutines_pprof_suspects", "leakscope_goroutines_pprof_totals_agree"); err != nil {
		t.Error(err)
	}
}
