package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/report"
)

// TestRetentionSeries: a searched target's searches by trigger, cost and
// drops, and per leak site the root of its first path (two suspects of one
// function held by one root summed); a target whose heap cannot be
// searched shows 0 available and nothing else.
func TestRetentionSeries(t *testing.T) {
	u := sampleUpdate()
	tg := &u.Doc.Targets[0]
	tg.Retention = &report.RetentionSearches{Status: report.RetentionOn, Searches: 5, OnDemand: 2, Cut: 1,
		SearchSeconds: 1.5, CPUSeconds: 1.25, LastScannedBytes: 1 << 20, Dropped: map[string]uint64{"internal": 4, "span_read": 1}}
	held := func(root string, n int) *analysis.Retention {
		return &analysis.Retention{Status: analysis.RetentionFound, Paths: []analysis.RetentionPath{{Root: root, Samples: n}}}
	}
	tg.Suspects[0].RetainedBy = held("main.sessions", 3)
	tg.Suspects[1].RetainedBy = held("main.lru", 2)
	tg.Suspects[2].RetainedBy = held("main.lru", 1)
	u.Doc.Targets = append(u.Doc.Targets, report.Target{PID: 5, NSPID: 5, Exe: "old", Status: report.StatusWatching,
		Retention: &report.RetentionSearches{Status: report.RetentionUnavailable, Reason: "no layout for go1.18", Dropped: map[string]uint64{}}})
	l := `container="app",container_id="abc123",exe="shop",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f"`
	old := `container="",container_id="",exe="old",namespace="",ns_pid="5",pid="5",pod=""`
	want := `
# HELP leakscope_retention_available 1 when the target's heap can be searched for what holds its leaks (or no search was needed yet), 0 when it cannot or searching is off.
# TYPE leakscope_retention_available gauge
leakscope_retention_available{` + old + `} 0
leakscope_retention_available{` + l + `} 1
# HELP leakscope_retention_searches_total Retention-path searches of the target, by trigger (auto: a new leak verdict or a stale path; on_demand: asked from the web view or API).
# TYPE leakscope_retention_searches_total counter
leakscope_retention_searches_total{` + old + `,trigger="auto"} 0
leakscope_retention_searches_total{` + old + `,trigger="on_demand"} 0
leakscope_retention_searches_total{` + l + `,trigger="auto"} 3
leakscope_retention_searches_total{` + l + `,trigger="on_demand"} 2
# HELP leakscope_retention_cut_searches_total Searches the budget stopped before every searched object had a root.
# TYPE leakscope_retention_cut_searches_total counter
leakscope_retention_cut_searches_total{` + old + `} 0
leakscope_retention_cut_searches_total{` + l + `} 1
# HELP leakscope_retention_cpu_seconds_total leakscope's CPU time spent searching the target's heap.
# TYPE leakscope_retention_cpu_seconds_total counter
leakscope_retention_cpu_seconds_total{` + old + `} 0
leakscope_retention_cpu_seconds_total{` + l + `} 1.25
# HELP leakscope_retention_dropped_total What searches could not read or did not believe, by reason (spans, stacks, heap pieces, paths changed on re-read, runtime holders).
# TYPE leakscope_retention_dropped_total counter
leakscope_retention_dropped_total{` + l + `,reason="internal"} 4
leakscope_retention_dropped_total{` + l + `,reason="span_read"} 1
# HELP leakscope_suspect_held_by_samples Sampled objects of the leak site held through the root of its first retention path.
# TYPE leakscope_suspect_held_by_samples gauge
leakscope_suspect_held_by_samples{container="app",container_id="abc123",exe="shop",function="main.cache",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f",root="main.lru"} 3
leakscope_suspect_held_by_samples{container="app",container_id="abc123",exe="shop",function="main.remember",namespace="prod",ns_pid="1",pid="4242",pod="shop-7d9f",root="main.sessions"} 3
`
	c := NewCollector(func() *report.Update { return u })
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"leakscope_retention_available", "leakscope_retention_searches_total", "leakscope_retention_cut_searches_total",
		"leakscope_retention_cpu_seconds_total", "leakscope_retention_dropped_total", "leakscope_suspect_held_by_samples"); err != nil {
		t.Error(err)
	}
}
