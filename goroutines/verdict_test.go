package goroutines_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/testutil"
)

// leakSites are the `go` statements of the fixture's six leaks: every one
// must be judged leak. httpbody's goroutines are created by net/http.
var leakSites = map[string]string{
	"chansend": "main.leakChanSend",
	"ctxwait":  "main.leakCtxWait",
	"ticker":   "main.leakTicker",
	"mutex":    "main.startMutex.func1",
	"netread":  "main.startNetRead.func2",
	"httpbody": "net/http.(*Transport).dialConn",
}

// alsoLeaks are leaks the fixture makes besides leakSites: the server
// side of the connections whose responses are never closed.
var alsoLeaks = map[string]bool{"net/http.(*Server).Serve": true}

// controlSites create the controls' goroutines: none may be judged leak.
var controlSites = []string{"main.startPool", "main.request", "main.startBoot", "main.burst"}

// watchFixture reads the fixture every interval until every leak site is
// judged leak (and at least minWatch passed) or the deadline passes,
// failing on any other leak verdict at any time (the controls and the
// runtime's goroutines).
func watchFixture(t *testing.T, f *fixture, sites map[string]string, minWatch, deadline time.Duration) map[string]goroutines.Suspect {
	t.Helper()
	const interval = 500 * time.Millisecond
	tr := goroutines.NewTracker(goroutines.TrackerConfig{MinOldAge: 4 * time.Second, MinWindow: 15 * time.Second, Window: time.Minute},
		f.reader.Layout(), f.sym)
	want := map[string]bool{}
	for _, fn := range sites {
		want[fn] = true
	}
	found := map[string]goroutines.Suspect{}
	start := time.Now()
	falseLeak := map[string]bool{}
	for time.Since(start) < deadline && (len(found) < len(want) || time.Since(start) < minWatch) {
		time.Sleep(interval)
		s, err := f.reader.Read()
		if err != nil {
			t.Fatal(err)
		}
		tr.Observe(s)
		for _, sus := range tr.Suspects() {
			if sus.Verdict != goroutines.VerdictLeak {
				continue
			}
			fn := sus.CreatedBy.Function
			if alsoLeaks[fn] {
				continue
			}
			if !want[fn] {
				if !falseLeak[fn] {
					t.Errorf("false leak verdict after %v: %+v", time.Since(start).Round(time.Second), sus)
					falseLeak[fn] = true
				}
				continue
			}
			if _, ok := found[fn]; !ok {
				t.Logf("leak after %v: created by %s, start %s, %d goroutines (%d overdue), %s at %v, %.1f/s, %d stack bytes, evidence %+v",
					time.Since(start).Round(time.Second), sus.CreatedBy, sus.StartFunction, sus.Count, sus.Overdue, sus.WaitReason, sus.Blocked,
					sus.GrowthPerSecond, sus.StackBytes, sus.Evidence)
				found[fn] = sus
			}
		}
	}
	sum := tr.Summary()
	t.Logf("last snapshot: %+v", sum)
	for _, sus := range tr.Suspects() {
		if slices.Contains(controlSites, sus.CreatedBy.Function) {
			t.Logf("control %s: %d goroutines, verdict %q, evidence %+v", sus.CreatedBy.Function, sus.Count, sus.Verdict, sus.Evidence)
		}
	}
	for c, fn := range sites {
		if _, ok := found[fn]; !ok {
			t.Errorf("%s: no leak verdict for goroutines created by %s within %v", c, fn, deadline)
			for _, sus := range tr.Suspects() {
				if sus.CreatedBy.Function == fn {
					t.Logf("  %+v", sus)
				}
			}
		}
	}
	return found
}

// TestVerdictSixLeaksFourControls runs the fixture with every case at
// once: each leak's creation site must be judged leak (with the blocked
// frame and wait reason a user would look for), and no other group ever.
func TestVerdictSixLeaksFourControls(t *testing.T) {
	f := startFixture(t, testutil.GoBuild{}, "-every", "100ms")
	found := watchFixture(t, f, leakSites, 35*time.Second, 60*time.Second)
	checks := []struct{ site, reason, frame string }{
		{"main.leakChanSend", "chan send", "main.sendResult"},
		{"main.leakCtxWait", "chan receive", "main.awaitCancel"},
		{"main.leakTicker", "chan receive", "main.pollForever"},
		{"main.startMutex.func1", "sync.Mutex.Lock", "main.lockHeld"},
		{"main.startNetRead.func2", "IO wait", "main.readReply"},
	}
	for _, c := range checks {
		s, ok := found[c.site]
		if !ok {
			continue
		}
		if s.WaitReason != c.reason {
			t.Errorf("%s: wait reason %q, want %q", c.site, s.WaitReason, c.reason)
		}
		var frames []string
		for _, b := range s.Blocked {
			frames = append(frames, b.Function)
		}
		if !strings.Contains(strings.Join(frames, " "), c.frame) {
			t.Errorf("%s: blocked frames %v lack %s", c.site, frames, c.frame)
		}
		if s.StackBytes < uint64(s.Count)*2048 {
			t.Errorf("%s: %d stack bytes for %d goroutines, want >= 2 KiB each", c.site, s.StackBytes, s.Count)
		}
	}
}
