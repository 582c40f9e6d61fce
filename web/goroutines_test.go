package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
			Count: 12, StackBytes: 12 << 11, Verdict: goroutines.VerdictLeak}}}
	u.Doc.Targets = append(u.Doc.Targets, report.Target{PID: 5, Exe: "old", Status: report.StatusWatching,
		Goroutines: &report.Goroutines{Status: report.GoroutinesError, Reason: "no runtime.g layout for this Go release: go1.18/amd64"}})
	store := NewStore()
	store.Publish(u)
	srv := httptest.NewServer(NewServer(Options{Store: store, Metrics: http.NotFoundHandler()}).Handler())
	defer srv.Close()
	_, body := get(t, srv.URL+"/")
	for _, want := range []string{`<span class="leak">leak</span>`, "main.leakChanSend", "chan send", "main.sendResult", "12 waiting",
		"goroutines error: no runtime.g layout for this Go release: go1.18/amd64"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
