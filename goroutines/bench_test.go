package goroutines_test

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/testutil"
)

// benchSizes are the parked goroutines of the read benchmarks.
var benchSizes = []int{10_000, 100_000, 1_000_000}

// BenchmarkRead reads a process holding N parked goroutines (plus the
// fixture's leaks), as every interval does: allgs, the g structs, and the
// stacks (read once, then reused while the goroutines do not run).
//
//	go test -run '^$' -bench Read -benchtime 10x ./goroutines/
func BenchmarkRead(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dK", n/1000), func(b *testing.B) {
			f := startFixtureConfig(b, testutil.GoBuild{}, goroutines.Config{MaxGoroutines: 2 * n}, "-cases", "chansend,pool", "-park", fmt.Sprint(n))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				s, err := f.reader.Read()
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Goroutines) < n {
					b.Fatalf("read %d goroutines, want >= %d (dropped %v, skipped %d)", len(s.Goroutines), n, s.Dropped, s.Skipped)
				}
			}
		})
	}
}

// BenchmarkGoroutineSnapshot is the whole goroutine part of one interval
// for a process holding N parked goroutines (plus the fixture's leaks and
// its worker pool): Read, then Tracker.Observe, Summary and Suspects, as
// monitor does. Reported per snapshot: wall time (s/snapshot), the CPU
// time of this process (cpu-s/snapshot; the garbage collector's included),
// apart: opening the reader (open-s, open-cpu-s: its verifying read, which
// reads and unwinds every stack) and the first snapshot (first-s,
// first-cpu-s: every goroutine new to the tracker); and memory: the heap the reader and
// tracker keep between snapshots (kept-MiB, after a GC) and the growth of
// the resident set from before the reader was opened to its peak
// (rss-growth-MiB, /proc/self/status VmHWM after /proc/self/clear_refs).
// make bench runs it; bench/cmd/render reports it.
//
//	go test -run '^$' -bench GoroutineSnapshot -benchtime 5x ./goroutines/
func BenchmarkGoroutineSnapshot(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dK", n/1000), func(b *testing.B) { goroutineSnapshot(b, n) })
	}
}

func goroutineSnapshot(b *testing.B, n int) {
	cfg := goroutines.Config{MaxGoroutines: 2 * n}
	p := startFixtureProcess(b, testutil.GoBuild{}, "-cases", "chansend,pool", "-park", strconv.Itoa(n))
	runtime.GC()
	debug.FreeOSMemory()
	rss0 := procStatusKiB(b, "VmRSS")
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("resetting the peak RSS: %v", err)
	}
	c0, t0 := cpuTime(), time.Now()
	f := openFixture(b, p, cfg)
	open, openCPU := time.Since(t0), cpuTime()-c0
	tr := goroutines.NewTracker(goroutines.TrackerConfig{}, f.reader.Layout(), f.sym)
	snapshot := func() {
		s, err := f.reader.Read()
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Goroutines) < n {
			b.Fatalf("read %d goroutines, want >= %d (dropped %v, skipped %d)", len(s.Goroutines), n, s.Dropped, s.Skipped)
		}
		tr.Observe(s)
		if sum := tr.Summary(); sum.Live["waiting"] < n {
			b.Fatalf("summary: %v live, want >= %d waiting", sum.Live, n)
		}
		if len(tr.Suspects()) == 0 {
			b.Fatal("no goroutine group reported")
		}
	}
	c0, t0 = cpuTime(), time.Now()
	snapshot()
	first, firstCPU := time.Since(t0), cpuTime()-c0
	c0, t0 = cpuTime(), time.Now()
	for b.Loop() {
		snapshot()
	}
	b.StopTimer()
	b.ReportMetric(open.Seconds(), "open-s")
	b.ReportMetric(openCPU.Seconds(), "open-cpu-s")
	b.ReportMetric(first.Seconds(), "first-s")
	b.ReportMetric(firstCPU.Seconds(), "first-cpu-s")
	b.ReportMetric(time.Since(t0).Seconds()/float64(b.N), "s/snapshot")
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/snapshot")
	b.ReportMetric(float64(procStatusKiB(b, "VmHWM")-rss0)/1024, "rss-growth-MiB")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "kept-MiB")
	runtime.KeepAlive(tr)
	runtime.KeepAlive(f)
}

// cpuTime is this process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStatusKiB is a "kB" line of /proc/self/status.
func procStatusKiB(b *testing.B, key string) int64 {
	b.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("%s %q: %v", key, v, err)
			}
			return kb
		}
	}
	b.Fatalf("no %s in /proc/self/status", key)
	return 0
}
