package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/report"
)

// TestPageGoroutines: the page shows a target's goroutine groups (verdict,
// creation site, where they wait) and why the part is off for another.
func TestPageGoroutines(t *testing.T) {
	u := update(time.Now(), 1<<20, "x.go")
	u.Doc.Targets[0].Goroutines = &report.Goroutines{Status: report.GoroutinesWatching, Layout: "go1.26/amd64", Roots: "symbol table",
		Summary: goroutines.Summary{Live: map[string]int{"waiting": 12}},
		Suspects: []goroutines.Suspect{{CreatedBy: goroutines.Site{Function: "main.leakChanSend", File: "main.go", Line: 75},
			WaitReason: "chan send", Blocked: []goroutines.Site{{Function: "main.sendResult", File: "main.go", Line: 78}},
			Count: 12, StackBytes: 12 << 11, Verdict: goroutines.VerdictLeak,
			Pprof: &goroutines.PprofCheck{Status: goroutines.PprofAgrees, Function: "main.sendResult", RuntimeCount: 13, LeakscopeCount: 12}}},
		Pprof: &crosscheck.GoroutineCheck{URL: "http://127.0.0.1:6060/debug/pprof/goroutine", Status: crosscheck.StatusOK,
			RuntimeUser: 15, LeakscopeUser: 14, TotalStatus: goroutines.PprofAgrees, Agreed: 1}}
	u.Doc.Targets[0].Suspects[0].GoroutineCreatedBy = []string{"main.leakChanSend (main.go:75)"}
	u.Doc.Targets = append(u.Doc.Targets, report.Target{PID: 5, Exe: "old", Status: report.StatusWatching,
		Goroutines: &report.Goroutines{Status: report.GoroutinesError, Reason: "no runtime.g layout for this Go release: go1.18/amd64"}})
	store := NewStore()
	store.Publish(u)
	srv := httptest.NewServer(NewServer(Options{Store: store, Metrics: http.NotFoundHandler()}).Handler())
	defer srv.Close()
	_, body := get(t, srv.URL+"/")
	for _, want := range []string{`<span class="leak">leak</span>`, "main.leakChanSend", "chan send", "main.sendResult", "12 waiting",
		"goroutines error: no runtime.g layout for this Go release: go1.18/amd64",
		"own goroutine profile (<code>http://127.0.0.1:6060/debug/pprof/goroutine</code>): ok · agrees on 1 of 1 groups · totals agrees (runtime 15, leakscope 14 outside the runtime)",
		`<span class="pprof-agrees" title="">agrees</span><br><small>runtime 13, leakscope 12</small>`,
		"descriptors (g) of the goroutines created by <code>main.leakChanSend (main.go:75)</code>"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
