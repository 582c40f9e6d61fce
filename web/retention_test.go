package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/report"
)

// TestPageRetainedBy: a leak suspect shows what holds it (the first
// path's line, every path expandable hop by hop), and a target whose heap
// cannot be read says why.
func TestPageRetainedBy(t *testing.T) {
	u := update(time.Now(), 1<<20, "x.go")
	u.Doc.Targets[0].Suspects[0].RetainedBy = &analysis.Retention{Status: analysis.RetentionFound, Searched: 4,
		Paths: []analysis.RetentionPath{{Root: "main.sessions", Summary: "main.sessions (global) -> 48 B object", Samples: 3, Confidence: "high",
			Hops: []analysis.RetentionHop{{Kind: "global", Name: "main.sessions"}, {Kind: "heap", Name: "object of 48 B", Size: 48, FieldOffset: 16}, {Kind: "leaked", Name: "object of 32 B", Size: 32}}},
			{Root: "main.worker", Summary: "main.worker frame (goroutine 7, main.go:41)", Samples: 1, Confidence: "medium",
				Hops: []analysis.RetentionHop{{Kind: "frame", Name: "main.worker", File: "main.go", Line: 41, Goroutine: 7, CreatedBy: "main.main at main.go:12"}, {Kind: "leaked", Name: "object of 32 B"}}}}}
	u.Doc.Targets = append(u.Doc.Targets, report.Target{PID: 5, Exe: "old", Status: report.StatusWatching,
		Suspects: []analysis.Suspect{{Function: "main.leak", Verdict: analysis.VerdictLeak,
			RetainedBy: &analysis.Retention{Status: analysis.RetentionUnavailable, Reason: "no heap layout for this Go release: go1.18/amd64"}}}})
	store := NewStore()
	store.Publish(u)
	srv := httptest.NewServer(NewServer(Options{Store: store, Metrics: http.NotFoundHandler()}).Handler())
	defer srv.Close()
	_, body := get(t, srv.URL+"/")
	for _, want := range []string{
		"held by <code>main.sessions (global) -&gt; 48 B object</code> (3 of 4 samples, high confidence)",
		"<summary><code>main.sessions</code>: 3 samples</summary>",
		"heap <code>object of 48 B</code> 48 B (pointer at +16)",
		"frame <code>main.worker</code> main.go:41, goroutine 7 created by main.main at main.go:12",
		"holder unavailable: no heap layout for this Go release: go1.18/amd64",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
