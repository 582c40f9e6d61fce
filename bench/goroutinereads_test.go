package bench

import (
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/symbolize"
)

const (
	// parkedGoroutines is how many blocked goroutines the target of
	// BenchmarkGoroutineReadThroughput holds; bench/cmd/render says so.
	parkedGoroutines = 100_000
	// goroutineReadEvery is how often they are read during the variant
	// windows: ten times leakscope's default interval (10 s), so that
	// each 2 s window holds two reads.
	goroutineReadEvery = time.Second
)

// BenchmarkGoroutineReadThroughput measures the allocation throughput of
// testdata/bench/allocs with one worker allocating at full speed (a busy
// goroutine) and 100K goroutines blocked for good, while its goroutines
// are read as leakscope reads them every interval (goroutines.Reader and
// Tracker, as monitor uses them, in this process), once a second:
//
//   - baseline: nothing changes between windows (A/A: the method's noise);
//   - goroutine-reads: the reads run through both variant windows.
//
// One invocation: a fresh target, then windows baseline, variant,
// variant, baseline, as BenchmarkTargetThroughput. Besides its metrics,
// reads/s, read-ms (wall per read and observe) and reader-cores (this
// process's CPU over the variant windows, reads included).
func BenchmarkGoroutineReadThroughput(b *testing.B) {
	for _, v := range []string{"baseline", "goroutine-reads"} {
		b.Run(v, func(b *testing.B) { goroutineReadThroughput(b, v) })
	}
}

func goroutineReadThroughput(b *testing.B, name string) {
	testutil.RequireBPF(b) // reading another process's memory needs root
	bin := build(b, "allocs", "./testdata/bench/allocs")
	fx := startFixture(b, bin, "-workers", "1", "-park", strconv.Itoa(parkedGoroutines))
	var rd *goroutineReads
	if name == "goroutine-reads" {
		rd = openGoroutineReads(b, fx.pid)
	}
	fx.measure(b, warmup)
	var base, with allocWindow
	base.add(fx.measure(b, window))
	var c0 time.Duration
	if rd != nil {
		c0 = selfCPU()
		rd.start(b)
	}
	with.add(fx.measure(b, window))
	with.add(fx.measure(b, window))
	var reads int
	var readTime, readerCPU time.Duration
	if rd != nil {
		reads, readTime = rd.stop(b)
		readerCPU = selfCPU() - c0
	}
	base.add(fx.measure(b, window))

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(with.mbps(), "MB/s")
	b.ReportMetric(base.mbps(), "base-MB/s")
	b.ReportMetric(with.mbps()/base.mbps(), "ratio-vs-base")
	b.ReportMetric(with.mbPerCPU(), "MB/cpu-s")
	b.ReportMetric(base.mbPerCPU(), "base-MB/cpu-s")
	b.ReportMetric(with.mbPerCPU()/base.mbPerCPU(), "cpu-ratio-vs-base")
	b.ReportMetric(with.cores(), "cores")
	b.ReportMetric(base.cores(), "base-cores")
	all := base
	all.add(with)
	b.ReportMetric(all.otherCores(), "other-cores")
	if rd != nil {
		if reads == 0 {
			b.Fatal("no goroutine read completed during the variant windows")
		}
		b.ReportMetric(float64(reads)/(float64(with.ns)/1e9), "reads/s")
		b.ReportMetric(readTime.Seconds()*1e3/float64(reads), "read-ms")
		b.ReportMetric(readerCPU.Seconds()/(float64(with.ns)/1e9), "reader-cores")
	}
}

// goroutineReads reads one target's goroutines every goroutineReadEvery
// in the background, as monitor does each interval.
type goroutineReads struct {
	reader  *goroutines.Reader
	tracker *goroutines.Tracker
	done    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	reads   int
	elapsed time.Duration
	err     error
}

func openGoroutineReads(b *testing.B, pid int) *goroutineReads {
	b.Helper()
	p := openProcess(b, pid)
	return &goroutineReads{reader: p.reader, tracker: goroutines.NewTracker(goroutines.TrackerConfig{}, p.reader.Layout(), p.sym)}
}

// process is a fixture opened the way leakscope opens a target: its
// executable, its symbols and its goroutine reader.
type process struct {
	exe    *gobin.Binary
	sym    *symbolize.Process
	reader *goroutines.Reader
}

func openProcess(b *testing.B, pid int) process {
	b.Helper()
	exe, err := gobin.Open(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { exe.Close() })
	sym, err := symbolize.OpenProcess(pid, nil)
	if err != nil {
		b.Fatal(err)
	}
	r, err := goroutines.NewReader(goroutines.FromGobin(exe), goroutines.ProcessMemory{PID: pid}, sym.Bias(), goroutines.Config{})
	if err != nil {
		b.Fatalf("reading the goroutines of pid %d: %v", pid, err)
	}
	return process{exe: exe, sym: sym, reader: r}
}

func (g *goroutineReads) start(b *testing.B) {
	g.done = make(chan struct{})
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		tick := time.NewTicker(goroutineReadEvery)
		defer tick.Stop()
		for {
			t0 := time.Now()
			s, err := g.reader.Read()
			if err == nil {
				g.tracker.Observe(s)
				_ = g.tracker.Suspects()
				if n := len(s.Goroutines); n < parkedGoroutines {
					err = fmt.Errorf("read %d goroutines, want >= %d (dropped %v)", n, parkedGoroutines, s.Dropped)
				}
			}
			g.mu.Lock()
			g.reads++
			g.elapsed += time.Since(t0)
			if err != nil && g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
			select {
			case <-g.done:
				return
			case <-tick.C:
			}
		}
	}()
}

// stop ends the reads and returns how many ran and their total time.
func (g *goroutineReads) stop(b *testing.B) (int, time.Duration) {
	close(g.done)
	g.wg.Wait()
	if g.err != nil {
		b.Fatalf("reading goroutines: %v", g.err)
	}
	return g.reads, g.elapsed
}

// selfCPU is this process's user and system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
