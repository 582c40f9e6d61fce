package goroutines_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/testutil"
)

// TestCrossCheckRuntimeProfile compares what leakscope reads from outside
// with the target's own /debug/pprof/goroutine: the goroutines blocked in
// main.parkForever (a fixed number) and in main.worker (a fixed pool)
// must be counted alike, and so must the total, within the goroutines the
// runtime hides from its profile (system goroutines) or that changed
// between the two reads.
func TestCrossCheckRuntimeProfile(t *testing.T) {
	const parked = 500
	f := startFixture(t, testutil.GoBuild{}, "-cases", "pool", "-park", strconv.Itoa(parked), "-pprof", "127.0.0.1:0")
	addr := strings.TrimPrefix(f.proc.WaitLine(t, "pprof", 10*time.Second), "pprof ")
	runtimeCounts := fetchGoroutineProfile(t, "http://"+addr+"/debug/pprof/goroutine?debug=1", "main.parkForever", "main.worker")
	s, err := f.reader.Read()
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]int{}
	for _, g := range s.Goroutines {
		for _, fr := range f.sym.Symbolize(append([]uint64{0}, g.Stack...)) {
			if fr.Function == "main.parkForever" || fr.Function == "main.worker" {
				ours[fr.Function]++
				break
			}
		}
	}
	t.Logf("runtime: %v; leakscope: %v of %d live", runtimeCounts, ours, len(s.Goroutines))
	if ours["main.parkForever"] != parked || runtimeCounts["main.parkForever"] != parked {
		t.Errorf("parked goroutines: leakscope %d, runtime %d, want %d", ours["main.parkForever"], runtimeCounts["main.parkForever"], parked)
	}
	// A worker may be running a job at either read.
	if d := ours["main.worker"] - runtimeCounts["main.worker"]; d < -2 || d > 2 || ours["main.worker"] < 30 {
		t.Errorf("pool workers: leakscope %d blocked, runtime %d (32 in the pool)", ours["main.worker"], runtimeCounts["main.worker"])
	}
	total := runtimeCounts["total"]
	if n := len(s.Goroutines); n < total || n > total+10 {
		t.Errorf("live goroutines: leakscope %d, runtime profile %d (+ at most 10 system goroutines it omits)", n, total)
	}
}

// fetchGoroutineProfile sums the debug=1 profile's counts of the stacks
// holding each function, and the total.
func fetchGoroutineProfile(t *testing.T, url string, fns ...string) map[string]int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	counts := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	n := 0
	seen := map[string]bool{}
	for sc.Scan() {
		line := sc.Text()
		if total, ok := strings.CutPrefix(line, "goroutine profile: total "); ok {
			counts["total"], _ = strconv.Atoi(total)
			continue
		}
		if c, _, ok := strings.Cut(line, " @ "); ok {
			n, _ = strconv.Atoi(c)
			seen = map[string]bool{}
			continue
		}
		for _, fn := range fns {
			if strings.Contains(line, "\t"+fn+"+") && !seen[fn] {
				counts[fn] += n
				seen[fn] = true
			}
		}
	}
	return counts
}

// TestCrossCheckWatcher: the cross-check as leakscope runs it, on a real
// process serving net/http/pprof: the Watcher fetches its goroutine
// profile beside the heap profile (same limits), and CompareGoroutines
// finds the parked goroutines' and the pool's counts agreeing with
// leakscope's read of the same moment, and the totals too.
func TestCrossCheckWatcher(t *testing.T) {
	const parked = 300
	f := startFixture(t, testutil.GoBuild{}, "-cases", "pool", "-park", strconv.Itoa(parked), "-pprof", "127.0.0.1:0")
	addr := strings.TrimPrefix(f.proc.WaitLine(t, "pprof", 10*time.Second), "pprof ")
	tr := goroutines.NewTracker(goroutines.TrackerConfig{}, f.reader.Layout(), f.sym)
	s, err := f.reader.Read()
	if err != nil {
		t.Fatal(err)
	}
	tr.Observe(s)
	w := crosscheck.Watch(context.Background(), crosscheck.WatchConfig{URL: addr, Interval: time.Hour, Goroutines: true})
	defer w.Stop()
	deadline := time.Now().Add(20 * time.Second)
	st := w.Status()
	for st.Goroutines == nil && st.GoroutineError == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		st = w.Status()
	}
	if st.Goroutines == nil {
		t.Fatalf("goroutine profile not fetched: %+v", st)
	}
	sum := tr.Summary()
	suspects := tr.Suspects()
	gc := crosscheck.CompareGoroutines(&st, crosscheck.GoroutineReading{At: s.Time, BlockedIn: tr.BlockedIn(), Lost: int64(sum.Skipped + sum.Ungrouped)}, suspects, time.Minute)
	t.Logf("target check: %+v", gc)
	checked := map[string]*goroutines.PprofCheck{}
	for _, sp := range suspects {
		t.Logf("%s blocked in %v: %+v", sp.CreatedBy, sp.Blocked, sp.Pprof)
		if sp.Pprof != nil {
			checked[sp.Pprof.Function] = sp.Pprof
		}
	}
	for _, fn := range []string{"main.parkForever", "main.worker"} {
		p := checked[fn]
		if p == nil || p.Status != goroutines.PprofAgrees {
			t.Errorf("%s: %+v, want agrees", fn, p)
		}
	}
	if p := checked["main.parkForever"]; p != nil && (p.RuntimeCount != parked || p.LeakscopeCount != parked) {
		t.Errorf("parked: runtime %d, leakscope %d, want %d", p.RuntimeCount, p.LeakscopeCount, parked)
	}
	if gc.Status != crosscheck.StatusOK || gc.TotalStatus != goroutines.PprofAgrees || gc.Disagreed != 0 || gc.RuntimeUser < parked {
		t.Errorf("target check = %+v", gc)
	}
}

// TestCrossCheckLeakProfile: on a process built with the runtime's leak
// detector (GOEXPERIMENT=goroutineleakprofile, Go 1.26), the goroutines
// left blocked in a send on a channel nobody else holds are the ones the
// runtime's /debug/pprof/goroutineleak proves leaked; the pool's workers,
// blocked on a channel their pool still holds, are not.
func TestCrossCheckLeakProfile(t *testing.T) {
	b := testutil.GoBuild{Experiment: "goroutineleakprofile"}
	f := startFixture(t, b, "-cases", "chansend,pool", "-every", "20ms", "-pprof", "127.0.0.1:0")
	addr := strings.TrimPrefix(f.proc.WaitLine(t, "pprof", 10*time.Second), "pprof ")
	time.Sleep(time.Second) // some sends pile up
	tr := goroutines.NewTracker(goroutines.TrackerConfig{}, f.reader.Layout(), f.sym)
	s, err := f.reader.Read()
	if err != nil {
		t.Fatal(err)
	}
	tr.Observe(s)
	w := crosscheck.Watch(context.Background(), crosscheck.WatchConfig{URL: addr, Interval: time.Hour, Goroutines: true, GoroutineLeak: true})
	defer w.Stop()
	deadline := time.Now().Add(20 * time.Second)
	st := w.Status()
	for st.GoroutineLeak == nil && st.GoroutineLeakError == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		st = w.Status()
	}
	if st.GoroutineLeak == nil {
		t.Fatalf("goroutine leak profile not fetched: %+v", st)
	}
	suspects := tr.Suspects()
	gc := crosscheck.CompareGoroutines(&st, crosscheck.GoroutineReading{At: s.Time, BlockedIn: tr.BlockedIn()}, suspects, time.Minute)
	t.Logf("target check: %+v", gc)
	leaked := map[string]int64{}
	for _, sp := range suspects {
		if p := sp.Pprof; p != nil && p.RuntimeLeaked != nil {
			t.Logf("%s blocked in %s: %d of %d leaked per the runtime", sp.CreatedBy, p.Function, *p.RuntimeLeaked, p.LeakscopeCount)
			leaked[p.Function] = *p.RuntimeLeaked
		}
	}
	if gc.LeakProfile != "ok" || gc.RuntimeLeaked < 10 {
		t.Errorf("leak profile %q, %d leaked; want ok and the piled-up sends", gc.LeakProfile, gc.RuntimeLeaked)
	}
	// Sends started just before the leak profile's GC may not be proven
	// yet: most, not all.
	if n, ok := leaked["main.sendResult"]; !ok || n < gc.RuntimeLeaked*9/10 {
		t.Errorf("main.sendResult: %d leaked per the runtime (of %d); want nearly all", n, gc.RuntimeLeaked)
	}
	if n, ok := leaked["main.worker"]; !ok || n != 0 {
		t.Errorf("main.worker: %d leaked per the runtime (compared: %v); want 0", n, ok)
	}
}
