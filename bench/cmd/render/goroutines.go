package main

import "fmt"

// The goroutine benchmarks of issue 16 (package goroutines and bench).
var (
	goroutineSizes    = []string{"10K", "100K", "1000K"}
	goroutineVariants = []string{"baseline", "goroutine-reads"}
)

// goroutineNames are the benchmarks renderGoroutines needs.
func goroutineNames() []string {
	var names []string
	for _, s := range goroutineSizes {
		names = append(names, "BenchmarkGoroutineSnapshot/"+s)
	}
	for _, v := range goroutineVariants {
		names = append(names, "BenchmarkGoroutineReadThroughput/"+v)
	}
	return names
}

// renderGoroutines states the goroutine goals, the time and memory of a
// goroutine snapshot by size, and the target's throughput while its
// goroutines are read.
func renderGoroutines(p printer, r *result) {
	snap := func(s string) string { return "BenchmarkGoroutineSnapshot/" + s }
	thr := "BenchmarkGoroutineReadThroughput/"
	p("## Goroutine snapshots\n\n")
	p("| goal | measured (median, range over the runs) | verdict |\n| --- | --- | --- |\n")
	for _, g := range []struct {
		size  string
		limit float64
	}{{"100K", 0.1}, {"1000K", 1}} {
		n := snap(g.size)
		p("| a snapshot of %s goroutines takes under %s s | %s s wall, %s s CPU; first snapshot %s s | %s |\n",
			sizeName(g.size), fmtNum(g.limit), r.cell(n, "s/snapshot"), r.cell(n, "cpu-s/snapshot"),
			r.cell(n, "first-s"), verdict(r.med(n, "s/snapshot") < g.limit))
	}
	aa, _ := r.stat(thr+"baseline", "ratio-vs-base")
	with := r.med(thr+"goroutine-reads", "ratio-vs-base")
	v := verdict(with >= aa.min && with <= aa.max)
	if aa.max-aa.min > 0.1 {
		v += fmt.Sprintf(": the A/A ratios span %s, too wide to show a smaller cost", pct(aa.max-aa.min))
	}
	p("| the target's throughput while its goroutines are read stays within A/A noise | throughput ratio %s (A/A %s); per CPU-s %s (A/A %s) | %s |\n\n",
		r.cell(thr+"goroutine-reads", "ratio-vs-base"), r.cell(thr+"baseline", "ratio-vs-base"),
		r.cell(thr+"goroutine-reads", "cpu-ratio-vs-base"), r.cell(thr+"baseline", "cpu-ratio-vs-base"), v)

	p("`BenchmarkGoroutineSnapshot` (package goroutines): the goroutine part of one\n")
	p("interval, as monitor runs it (`Reader.Read`, then `Tracker.Observe`, `Summary`,\n")
	p("`Suspects`), on testdata/goroutines holding N goroutines parked for good plus\n")
	p("its chansend leak and worker pool. After a first snapshot (every stack read and\n")
	p("unwound, every goroutine new to the tracker; reported apart), each snapshot\n")
	p("reads allgs and every g, and unwinds only the goroutines that ran since. CPU is\n")
	p("the benchmark process's (getrusage, the garbage collector's included). Kept:\n")
	p("the heap the reader and tracker hold between snapshots (after a GC); RSS growth:\n")
	p("the peak resident set (`VmHWM`, reset through `/proc/self/clear_refs` before the\n")
	p("reader opens) minus the resident set before. The reader caps the g structs read\n")
	p("per interval (`MaxGoroutines`, default 200,000; the benchmark raises it), which\n")
	p("bounds both.\n\n")
	p("| goroutines | wall s per snapshot | CPU s per snapshot | first snapshot, wall s | first snapshot, CPU s | kept, MiB | RSS growth, MiB |\n")
	p("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range goroutineSizes {
		n := snap(s)
		p("| %s | %s | %s | %s | %s | %s | %s |\n", sizeName(s), r.cell(n, "s/snapshot"), r.cell(n, "cpu-s/snapshot"),
			r.cell(n, "first-s"), r.cell(n, "first-cpu-s"), r.cell(n, "kept-MiB"), r.cell(n, "rss-growth-MiB"))
	}
	p("\n### Target throughput while its goroutines are read\n\n")
	p("`BenchmarkGoroutineReadThroughput`: testdata/bench/allocs with one worker\n")
	p("allocating at full speed and 100K goroutines blocked for good; the variant\n")
	p("reads its goroutines (Reader and Tracker, in the benchmark process) every\n")
	p("second, ten times leakscope's default interval. Windows as in\n")
	p("`BenchmarkTargetThroughput` (baseline, variant, variant, baseline; 2 s each).\n")
	p("Read ms is the wall time of one read and observe; reader cores the benchmark\n")
	p("process's CPU over the variant windows.\n\n")
	p("| variant | MB/s | baseline MB/s | ratio | per CPU-s ratio | target cores | other load, cores | reads/s | read, ms | reader cores |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, v := range goroutineVariants {
		n := thr + v
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v,
			r.cell(n, "MB/s"), r.cell(n, "base-MB/s"), r.cell(n, "ratio-vs-base"), r.cell(n, "cpu-ratio-vs-base"),
			r.cell(n, "cores"), r.cell(n, "other-cores"), r.cell(n, "reads/s"), r.cell(n, "read-ms"), r.cell(n, "reader-cores"))
	}
	p("\n")
}

// sizeName prints a benchmark size ("1000K") as "1M".
func sizeName(s string) string {
	if s == "1000K" {
		return "1M"
	}
	return s
}
