package goroutines_test

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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
