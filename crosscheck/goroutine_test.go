package crosscheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakscope/leakscope/goroutines"
)

// parkedForTest blocks until release is closed: a function of its own, so
// this process's goroutine profile counts its goroutines apart.
//
//go:noinline
func parkedForTest(release chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	<-release
}

// selfGoroutineProfile serves this process's own goroutine profile, as
// net/http/pprof does, at /debug/pprof/goroutine, beside a heap profile.
func selfGoroutineProfile(t *testing.T) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/goroutine", func(w http.ResponseWriter, r *http.Request) {
		octet(w)
		pprof.Lookup("goroutine").WriteTo(w, 0)
	})
	heap := heapProfile(t, rate, testSite{leakFrames, 3, 3072})
	mux.HandleFunc("/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) { octet(w); w.Write(heap) })
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s.URL
}

// TestFetchGoroutines: the runtime's own goroutine profile is summarized
// per blocked function: the 40 goroutines parked in parkedForTest are
// counted there (the receive in the runtime skipped), and the total is
// the runtime's.
func TestFetchGoroutines(t *testing.T) {
	const parked = 40
	release, wg := make(chan struct{}), &sync.WaitGroup{}
	defer func() { close(release); wg.Wait() }()
	for range parked {
		wg.Add(1)
		go parkedForTest(release, wg)
	}
	base := selfGoroutineProfile(t)
	u, err := GoroutineURL(base + "/debug/pprof/heap?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	if want := base + "/debug/pprof/goroutine"; u != want {
		t.Errorf("GoroutineURL = %q, want %q", u, want)
	}
	before := int64(runtime.NumGoroutine())
	g, err := NewFetcher(nil, testLimits, false).FetchGoroutines(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	fn := "github.com/leakscope/leakscope/crosscheck.parkedForTest"
	if g.BlockedIn[fn] != parked {
		t.Errorf("blocked in %s: %d, want %d (profile: %v)", fn, g.BlockedIn[fn], parked, g.BlockedIn)
	}
	// The fetch's own goroutines (client, server) and other tests' that
	// are ending come and go meanwhile.
	if n := max(before, int64(runtime.NumGoroutine())); g.Total <= parked || g.Total > n+20 {
		t.Errorf("total %d, want more than %d and about %d", g.Total, parked, n)
	}
	if g.FetchedAt.IsZero() {
		t.Error("no fetch time")
	}
	// At least the handler writing this profile serves the fetch.
	if g.Serving < 1 || g.Serving > g.Total-parked {
		t.Errorf("%d goroutines serving the fetch, want at least the handler, at most the %d not parked", g.Serving, g.Total-parked)
	}
	if _, err := GoroutineURL("http://127.0.0.1:1/metrics"); err == nil {
		t.Error("GoroutineURL of a non-heap URL: no error")
	}
}

// TestFetchGoroutinesBadEndpoints: every bad endpoint (refused, slow,
// endless, garbage, gzip bomb, HTML, another profile type, a redirect off
// the target) ends in an error naming the reason, within the timeout and
// the memory caps, as heap fetches do; so does a heap profile served
// where the goroutine profile should be.
func TestFetchGoroutinesBadEndpoints(t *testing.T) {
	heap := heapProfile(t, rate, testSite{leakFrames, 3, 3072})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { octet(w); w.Write(heap) }))
	defer s.Close()
	cases := append(badEndpoints(t), struct{ name, want, url string }{"heap instead", "not a goroutine profile", s.URL})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := strings.Replace(c.want, "not a heap profile", "not a goroutine profile", 1)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			g, err := NewFetcher(nil, testLimits, false).FetchGoroutines(context.Background(), c.url)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("FetchGoroutines = %+v, want an error", g)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if took > 3*testLimits.Timeout+time.Second {
				t.Errorf("took %v, timeout %v", took, testLimits.Timeout)
			}
			if a := after.TotalAlloc - before.TotalAlloc; a > 16<<20 {
				t.Errorf("allocated %d MiB during the fetch; caps are 1 MiB", a>>20)
			}
		})
	}
}

// TestWatchGoroutines: the Watcher fetches the goroutine profile after
// each heap fetch; one that fails leaves the heap part working, and says
// why.
func TestWatchGoroutines(t *testing.T) {
	base := selfGoroutineProfile(t)
	w := Watch(context.Background(), WatchConfig{URL: base, Interval: time.Hour, Limits: testLimits, Goroutines: true})
	defer w.Stop()
	st := waitStatus(t, w, func(s Status) bool { return s.Goroutines != nil || s.GoroutineError != "" })
	if st.Goroutines == nil || st.Goroutines.Total == 0 || st.GoroutineURL != base+"/debug/pprof/goroutine" {
		t.Errorf("goroutine profile not fetched: %+v", st)
	}

	mux := http.NewServeMux()
	heap := heapProfile(t, rate, testSite{leakFrames, 3, 3072})
	mux.HandleFunc("/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) { octet(w); w.Write(heap) })
	noG := httptest.NewServer(mux) // goroutine profile: 404
	defer noG.Close()
	w2 := Watch(context.Background(), WatchConfig{URL: noG.URL, Interval: time.Hour, Limits: testLimits, Goroutines: true})
	defer w2.Stop()
	st = waitStatus(t, w2, func(s Status) bool { return s.GoroutineError != "" })
	if st.Heap == nil || st.Failures != 0 || !strings.Contains(st.GoroutineError, "HTTP 404") || st.GoroutineFailures != 1 {
		t.Errorf("status = %+v, want the heap fetched and the goroutine profile failed with 404", st)
	}
	gc := CompareGoroutines(&st, GoroutineReading{At: time.Now()}, nil, time.Minute)
	if gc.Status != StatusUnavailable || !strings.Contains(gc.LastError, "HTTP 404") {
		t.Errorf("target check = %+v", gc)
	}
}

// goroutineProfileOf summarizes a synthetic goroutine profile.
func goroutineProfileOf(at time.Time, blockedIn map[string]int64) *Goroutines {
	g := &Goroutines{FetchedAt: at, BlockedIn: blockedIn}
	for _, n := range blockedIn {
		g.Total += n
	}
	return g
}

// TestCompareGoroutines: counts per blocked function agree within a few
// goroutines (more for a growing group, by its growth over the time
// between the reads), disagree with the likely cause, or are unavailable
// with why; the totals leave out the runtime's own goroutines.
func TestCompareGoroutines(t *testing.T) {
	now := time.Now()
	prof := goroutineProfileOf(now.Add(time.Second), map[string]int64{
		"main.awaitReply": 1030, "main.worker": 32, "main.stuck": 100, "runtime.gopark": 3, "net/http.(*conn).serve": 2,
	})
	reading := GoroutineReading{At: now, BlockedIn: map[string]int64{
		"main.awaitReply": 1000, "main.worker": 31, "main.stuck": 50, "runtime.gcBgMarkWorker": 2, "runtime.forcegchelper": 1,
		"net/http.(*conn).serve": 2, "": 1,
	}}
	sus := func() []goroutines.Suspect {
		return []goroutines.Suspect{
			{Blocked: []goroutines.Site{{Function: "main.awaitReply"}}, GrowthPerSecond: 30}, // +30/s, 1 s apart: 1030 ok
			{Blocked: []goroutines.Site{{Function: "main.worker"}}},
			{Blocked: []goroutines.Site{{Function: "main.stuck"}}}, // half missing
			{WaitReason: "running"},
			{Blocked: []goroutines.Site{{Function: "runtime.gopark"}, {Function: "runtime.bgsweep"}}},
		}
	}
	st := &Status{GoroutineURL: "http://127.0.0.1:6060/debug/pprof/goroutine", Goroutines: prof}
	s := sus()
	gc := CompareGoroutines(st, reading, s, time.Minute)
	for i, want := range []string{goroutines.PprofAgrees, goroutines.PprofAgrees, goroutines.PprofDisagrees, goroutines.PprofUnavailable, goroutines.PprofUnavailable} {
		if s[i].Pprof == nil || s[i].Pprof.Status != want {
			t.Errorf("suspect %d: %+v, want %s", i, s[i].Pprof, want)
		}
	}
	if p := s[2].Pprof; p.RuntimeCount != 100 || p.LeakscopeCount != 50 || !strings.Contains(p.Reason, "the runtime counts 50 more") {
		t.Errorf("disagreement = %+v", p)
	}
	if p := s[3].Pprof; !strings.Contains(p.Reason, "not waiting") {
		t.Errorf("running suspect = %+v", p)
	}
	if p := s[4].Pprof; !strings.Contains(p.Reason, "runtime's own goroutines") {
		t.Errorf("runtime suspect = %+v", p)
	}
	if gc.Status != StatusOK || gc.Agreed != 2 || gc.Disagreed != 1 || gc.Unavailable != 2 ||
		gc.RuntimeTotal != 1167 || gc.RuntimeUser != 1164 || gc.LeakscopeUser != 1083 || gc.LeakscopeNotWaiting != 1 ||
		gc.TotalStatus != goroutines.PprofDisagrees {
		t.Errorf("target check = %+v", gc)
	}

	// Leakscope lost goroutines this read: the shortfall is put down to that.
	lossy := reading
	lossy.Lost = 60
	s = sus()
	gc = CompareGoroutines(st, lossy, s, time.Minute)
	if p := s[2].Pprof; p.Status != goroutines.PprofDisagrees || !strings.Contains(p.Reason, "left 60 goroutines out") {
		t.Errorf("lossy disagreement = %+v", p)
	}
	if gc.TotalStatus != goroutines.PprofAgrees {
		t.Errorf("totals with 60 lost: %s", gc.TotalStatus)
	}

	// More in leakscope's read than in the profile.
	s = []goroutines.Suspect{{Blocked: []goroutines.Site{{Function: "net/http.(*conn).serve"}}}}
	few := map[string]int64{"net/http.(*conn).serve": 40}
	CompareGoroutines(st, GoroutineReading{At: now, BlockedIn: few}, s, time.Minute)
	if p := s[0].Pprof; p.Status != goroutines.PprofDisagrees || !strings.Contains(p.Reason, "leakscope counts 38 more") {
		t.Errorf("excess = %+v", p)
	}

	// Too far apart, no profile yet, no endpoint: unavailable, saying why.
	for _, c := range []struct {
		st   *Status
		at   time.Time
		want string
	}{
		{st, now.Add(-10 * time.Minute), "apart"},
		{&Status{GoroutineError: "fetching x: HTTP 404"}, now, "HTTP 404"},
		{&Status{}, now, "no goroutine profile fetched yet"},
		{&Status{LastError: "pprof discovery: the target listens on no TCP port"}, now, "no pprof endpoint found: pprof discovery: the target listens on no TCP port"},
		{nil, now, "no pprof endpoint"},
		{st, time.Time{}, "not read the goroutines yet"},
	} {
		s = sus()
		gc := CompareGoroutines(c.st, GoroutineReading{At: c.at, BlockedIn: reading.BlockedIn}, s, time.Minute)
		if p := s[0].Pprof; p.Status != goroutines.PprofUnavailable || !strings.Contains(p.Reason, c.want) {
			t.Errorf("%s: suspect %+v", c.want, p)
		}
		if gc.Agreed+gc.Disagreed != 0 || gc.TotalStatus != goroutines.PprofUnavailable {
			t.Errorf("%s: target %+v", c.want, gc)
		}
	}
}

// TestCompareGoroutineTotalsServing: the goroutines that serve the fetch
// (the handler writing the profile, its connection's reader, the previous
// fetch's connection in its 500 ms close) are not in leakscope's read,
// taken between fetches, and are left out of the totals compared. The
// counts are those of CI's failing run of TestPprofCrossCheck (runtime 7,
// leakscope 2), which the totals once called a disagreement.
func TestCompareGoroutineTotalsServing(t *testing.T) {
	now := time.Now()
	prof := goroutineProfileOf(now, map[string]int64{
		"main.main": 1, "net.(*netFD).accept": 1, "os/signal.signal_recv": 1, "runtime.gopark": 4,
		"runtime/pprof.writeRuntimeProfile": 1, "net.(*netFD).Read": 1, "time.Sleep": 2,
	})
	prof.Serving = 4
	reading := GoroutineReading{At: now, BlockedIn: map[string]int64{
		"net.(*netFD).accept": 1, "os/signal.signal_recv": 1, "": 1, "runtime.gcBgMarkWorker": 2,
	}}
	st := &Status{Goroutines: prof}
	gc := CompareGoroutines(st, reading, nil, time.Minute)
	if gc.RuntimeUser != 3 || gc.RuntimeServing != 4 || gc.LeakscopeUser != 2 || gc.TotalStatus != goroutines.PprofAgrees {
		t.Errorf("target check = %+v, want runtime 3 (4 serving the fetch) against leakscope 2, agreeing", gc)
	}
	// Without them the runtime would count 7: beyond the tolerance.
	prof.Serving = 0
	if gc := CompareGoroutines(st, reading, nil, time.Minute); gc.TotalStatus != goroutines.PprofDisagrees {
		t.Errorf("with the serving goroutines counted: %+v, want disagrees", gc)
	}
}

// TestServingFetch: a goroutine serves the fetch when a frame is the
// profile writer or net/http's per-connection reader or close wait; a
// user's handler under net/http does not.
func TestServingFetch(t *testing.T) {
	for _, c := range []struct {
		frames []string
		want   bool
	}{
		{[]string{"runtime/pprof.writeRuntimeProfile", "runtime/pprof.writeGoroutine", "net/http/pprof.handler.ServeHTTP", "net/http.(*conn).serve"}, true},
		{[]string{"internal/poll.(*FD).Read", "net.(*netFD).Read", "net.(*conn).Read", "net/http.(*connReader).backgroundRead"}, true},
		{[]string{"runtime.gopark", "time.Sleep", "net/http.(*conn).closeWriteAndWait", "net/http.(*conn).serve"}, true},
		{[]string{"runtime.gopark", "runtime.chanrecv1", "main.handler", "net/http.HandlerFunc.ServeHTTP", "net/http.(*conn).serve"}, false},
		{nil, false},
	} {
		if got := servingFetch(c.frames); got != c.want {
			t.Errorf("servingFetch(%q) = %v, want %v", c.frames, got, c.want)
		}
	}
}

// TestCompareGoroutineLeakProfile: with the runtime's leak profile, each
// compared suspect says how many of the goroutines blocked where it is
// the runtime proved leaked; without it, nothing is claimed and the
// target says why.
func TestCompareGoroutineLeakProfile(t *testing.T) {
	now := time.Now()
	prof := goroutineProfileOf(now, map[string]int64{"main.sendResult": 40, "main.notify": 20})
	leak := goroutineProfileOf(now, map[string]int64{"main.sendResult": 38})
	reading := GoroutineReading{At: now, BlockedIn: map[string]int64{"main.sendResult": 40, "main.notify": 20}}
	sus := func() []goroutines.Suspect {
		return []goroutines.Suspect{
			{Blocked: []goroutines.Site{{Function: "main.sendResult"}}, Verdict: goroutines.VerdictLeak},
			{Blocked: []goroutines.Site{{Function: "main.notify"}}, Verdict: goroutines.VerdictLeak}, // network I/O: invisible to it
		}
	}
	s := sus()
	gc := CompareGoroutines(&Status{Goroutines: prof, GoroutineLeak: leak}, reading, s, time.Minute)
	if gc.LeakProfile != "ok" || gc.RuntimeLeaked != 38 {
		t.Errorf("target check = %+v", gc)
	}
	for i, want := range []int64{38, 0} {
		if p := s[i].Pprof; p.Status != goroutines.PprofAgrees || p.RuntimeLeaked == nil || *p.RuntimeLeaked != want {
			t.Errorf("suspect %d: %+v, want agrees with %d leaked per the runtime", i, p, want)
		}
	}
	s = sus()
	gc = CompareGoroutines(&Status{Goroutines: prof, GoroutineLeakError: "fetching x: HTTP 404 Not Found (served by Go 1.27...)"}, reading, s, time.Minute)
	if !strings.HasPrefix(gc.LeakProfile, "unavailable: fetching x: HTTP 404") || s[0].Pprof.RuntimeLeaked != nil {
		t.Errorf("no leak profile: target %+v, suspect %+v", gc, s[0].Pprof)
	}
	s = sus()
	if gc = CompareGoroutines(&Status{Goroutines: prof}, reading, s, time.Minute); gc.LeakProfile != "off" || s[0].Pprof.RuntimeLeaked != nil {
		t.Errorf("leak profile off: target %+v, suspect %+v", gc, s[0].Pprof)
	}
}
