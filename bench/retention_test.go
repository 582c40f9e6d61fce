package bench

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/retention"
)

// searchRate is BenchmarkSearchThroughput's allocation throttle: a
// target with CPU to spare, so that what is measured is whether a search
// holds it up (it reads the target's memory with process_vm_readv and
// never stops it), not the CPU leakscope takes from a CPU-bound one.
const searchRate = 100_000_000

// BenchmarkSearchThroughput measures retention-path searches of a real
// target (testdata/bench/allocs, 4 workers throttled to 100 MB/s) with 100
// MiB and 1 GiB of pointer-bearing ballast (1 MiB lists of 64-byte nodes
// held by the global main.ballast), searching for the second node of the
// last list (three levels from the global: the lists' array, the list's
// head, it), which the search finds only after reading the whole ballast
// (the forward mark reads the heap once; the backward search, above 256
// MiB, reads it once per level). Windows as in BenchmarkTargetThroughput (baseline, variant,
// variant, baseline):
//
//   - baseline: no search (A/A: the method's noise);
//   - search: searches back to back through both variant windows, with
//     the default budget (2 s), as leakscope runs them.
//
// search-s and search-cpu-s are one search's wall and CPU time (the
// searching thread's clock), MiB-scanned/search what it read, found 1 when
// the node's root was main.ballast, cut-share the share of searches the
// budget stopped; MB/s, ratio-vs-base and cpu-ratio-vs-base the target's
// as in BenchmarkTargetThroughput, and pause-p99-us its GC pauses.
func BenchmarkSearchThroughput(b *testing.B) {
	for _, mib := range []int{100, 1024} {
		b.Run(fmt.Sprintf("heap=%dMiB", mib), func(b *testing.B) {
			for _, v := range []string{"baseline", "search"} {
				b.Run(v, func(b *testing.B) { searchThroughput(b, mib, v == "search") })
			}
		})
	}
}

func searchThroughput(b *testing.B, mib int, search bool) {
	testutil.RequireBPF(b) // reading another process's memory needs root
	bin := build(b, "allocs", "./testdata/bench/allocs")
	fx := startFixture(b, bin, "-workers", "4")
	fx.ask(b, fmt.Sprintf("rate %d", searchRate), "rate", 10*time.Second)
	node := uint64(fx.ask(b, fmt.Sprintf("ballast %d", mib), "ballast", 2*time.Minute)[0])
	s := newSearcher(b, fx.pid)
	fx.measure(b, warmup)

	var base, with allocWindow
	base.add(fx.measure(b, window))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var st searchStats
	if search {
		wg.Add(1)
		go func() { defer wg.Done(); st = searchLoop(b, s, node, stop) }()
	}
	with.add(fx.measure(b, window))
	with.add(fx.measure(b, window))
	close(stop)
	wg.Wait()
	base.add(fx.measure(b, window))

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(with.mbps(), "MB/s")
	b.ReportMetric(base.mbps(), "base-MB/s")
	b.ReportMetric(with.mbps()/base.mbps(), "ratio-vs-base")
	b.ReportMetric(with.mbPerCPU()/base.mbPerCPU(), "cpu-ratio-vs-base")
	b.ReportMetric(float64(with.pauseP99Ns)/1e3, "pause-p99-us")
	b.ReportMetric(float64(base.pauseP99Ns)/1e3, "base-pause-p99-us")
	if !search {
		return
	}
	if st.n == 0 {
		b.Fatal("no search completed during the variant windows")
	}
	n := float64(st.n)
	b.ReportMetric(st.wall.Seconds()/n, "search-s")
	b.ReportMetric(st.cpu.Seconds()/n, "search-cpu-s")
	b.ReportMetric(float64(st.scanned)/n/(1<<20), "MiB-scanned/search")
	b.ReportMetric(float64(st.cut)/n, "cut-share")
	b.ReportMetric(float64(st.levels)/n, "levels")
	b.ReportMetric(boolMetric(st.found), "found")
	b.ReportMetric(n, "searches")
}

// searchStats adds up the searches of one variant.
type searchStats struct {
	n, cut, levels int
	wall, cpu      time.Duration
	scanned        uint64
	found          bool // main.ballast was the root of the last search's path
}

// searchLoop searches for node until stop, on one locked thread so that
// its CPU clock is the searches' CPU.
func searchLoop(b *testing.B, s *retention.Searcher, node uint64, stop <-chan struct{}) searchStats {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var st searchStats
	for {
		select {
		case <-stop:
			return st
		default:
		}
		c0 := threadCPU()
		res, err := s.Search([]uint64{node})
		if err != nil {
			b.Errorf("search: %v", err)
			return st
		}
		st.cpu += threadCPU() - c0
		st.n++
		st.wall += res.Duration
		st.scanned += res.ScannedBytes
		st.levels += res.Depth
		if res.Cut {
			st.cut++
		}
		st.found = len(res.Paths) == 1 && res.Paths[0].Root() == "main.ballast"
	}
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// newSearcher opens a retention searcher on pid, with its goroutine
// frames as roots, as leakscope does.
func newSearcher(b *testing.B, pid int) *retention.Searcher {
	b.Helper()
	p := openProcess(b, pid)
	s, err := retention.NewSearcher(retention.FromGobin(p.exe), goroutines.ProcessMemory{PID: pid}, pid, p.sym.Bias(), p.reader, retention.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func boolMetric(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
