package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// TestOnDemandRetention: each suspect of a searchable target gets a button;
// POST /retention/PID runs the search and answers JSON or a page; an
// unknown suspect is 404, a search too soon 429 with Retry-After, a bad
// request 400; without a search function there is neither button nor route.
func TestOnDemandRetention(t *testing.T) {
	u := update(time.Now(), 1<<20, "x.go")
	tg := &u.Doc.Targets[0]
	tg.Retention = &report.RetentionSearches{Status: report.RetentionIdle}
	fn := tg.Suspects[0].Function
	store := NewStore()
	store.Publish(u)
	var asked []string
	search := func(_ context.Context, pid uint32, function string) (*analysis.Retention, error) {
		asked = append(asked, fmt.Sprint(pid, " ", function))
		switch {
		case function == "main.soon":
			return nil, &RetryAfterError{After: 7500 * time.Millisecond, Err: errors.New("searched on demand moments ago")}
		case pid != tg.PID || function != fn:
			return nil, fmt.Errorf("%w: no suspect at %s", ErrNotFound, function)
		}
		return &analysis.Retention{Status: analysis.RetentionFound, Searched: 2, Paths: []analysis.RetentionPath{{Root: "main.cache", Samples: 2,
			Confidence: "high", Summary: "main.cache (global) -> map", Hops: []analysis.RetentionHop{{Kind: "global", Name: "main.cache"}}}}}, nil
	}
	srv := httptest.NewServer(NewServer(Options{Store: store, Metrics: http.NotFoundHandler(), SearchRetention: search}).Handler())
	defer srv.Close()
	_, page := get(t, srv.URL+"/")
	if want := fmt.Sprintf(`action="/retention/%d"><input type="hidden" name="function" value="%s">`, tg.PID, fn); !strings.Contains(page, want) {
		t.Errorf("page lacks the search button %q", want)
	}
	post := func(function, accept string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/retention/%d", srv.URL, tg.PID), strings.NewReader(url.Values{"function": {function}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := post(fn, "application/json")
	var got analysis.Retention
	if err := json.Unmarshal([]byte(body), &got); resp.StatusCode != http.StatusOK || err != nil || got.Status != analysis.RetentionFound || got.Paths[0].Root != "main.cache" {
		t.Errorf("JSON search: %d %q (%v)", resp.StatusCode, body, err)
	}
	if resp, body := post(fn, "text/html"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "<code>main.cache</code>: 2 samples, high confidence") {
		t.Errorf("page search: %d %q", resp.StatusCode, body)
	}
	if resp, body := post("main.other", ""); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no suspect at main.other") {
		t.Errorf("unknown suspect: %d %q", resp.StatusCode, body)
	}
	if resp, _ := post("main.soon", ""); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "8" {
		t.Errorf("too soon: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := post("", ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no function: %d", resp.StatusCode)
	}
	if len(asked) != 4 {
		t.Errorf("searches asked %q, want 4 (none for the bad request)", asked)
	}
	// Without a search function: no button, no route.
	plain := httptest.NewServer(NewServer(Options{Store: store, Metrics: http.NotFoundHandler()}).Handler())
	defer plain.Close()
	if _, page := get(t, plain.URL+"/"); strings.Contains(page, "find what holds it") {
		t.Error("a button without a search function")
	}
	if resp, err := http.Post(plain.URL+"/retention/1", "application/x-www-form-urlencoded", strings.NewReader("function=x")); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("route without a search function: %v %v", resp.Status, err)
	}
}
