package main

import "fmt"

// The retention-path benchmark of issue 20 (bench).
var (
	searchHeaps    = []string{"100MiB", "1024MiB"}
	searchVariants = []string{"baseline", "search"}
)

// searchNames are the benchmarks renderSearch needs.
func searchNames() []string {
	var names []string
	for _, h := range searchHeaps {
		for _, v := range searchVariants {
			names = append(names, "BenchmarkSearchThroughput/heap="+h+"/"+v)
		}
	}
	return names
}

// renderSearch states the time and CPU of a retention-path search by heap
// size and the target's throughput meanwhile.
func renderSearch(p printer, r *result) {
	p("## Retention-path searches\n\n")
	p("`BenchmarkSearchThroughput`: testdata/bench/allocs (4 workers throttled to\n")
	p("100 MB/s, so that it has CPU to spare) holding 100 MiB or 1 GiB of\n")
	p("pointer-bearing ballast (1 MiB lists of 64-byte nodes under the global\n")
	p("`main.ballast`); the benchmark process searches what holds the second node\n")
	p("of the last list (three levels from the global), back to back through the\n")
	p("variant windows, with the default budget (2 s), as leakscope does: up to\n")
	p("256 MiB the heap is read once and marked forward, above it searched\n")
	p("backwards, one read of the heap per level. Windows as in\n")
	p("`BenchmarkTargetThroughput`.\n")
	p("CPU is the searching thread's clock. The target's CPU per byte is not\n")
	p("compared: it is dominated by its own collections of the ballast.\n\n")
	p("| goal | measured (median, range over the runs) | verdict |\n| --- | --- | --- |\n")
	for _, h := range searchHeaps {
		n := "BenchmarkSearchThroughput/heap=" + h + "/"
		aa, _ := r.stat(n+"baseline", "ratio-vs-base")
		with := r.med(n+"search", "ratio-vs-base")
		v := verdict(with >= aa.min && with <= aa.max)
		if with < aa.min {
			v += fmt.Sprintf(": %s below the lowest A/A ratio", pct(aa.min-with))
		}
		p("| %s of pointer-bearing heap: the target's throughput during searches stays within A/A noise | throughput ratio %s (A/A %s; %d and %d runs); GC pause p99 %s us (baseline windows %s us) | %s |\n",
			heapName(h), r.cell(n+"search", "ratio-vs-base"), r.cell(n+"baseline", "ratio-vs-base"),
			len(r.runs[n+"search"]), len(r.runs[n+"baseline"]),
			r.cell(n+"search", "pause-p99-us"), r.cell(n+"search", "base-pause-p99-us"), v)
	}
	p("\n| heap | wall s per search | CPU s per search | MiB read per search | levels | cut by the budget (share) | holder found (main.ballast) | searches per run |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, h := range searchHeaps {
		n := "BenchmarkSearchThroughput/heap=" + h + "/search"
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", heapName(h), r.cell(n, "search-s"), r.cell(n, "search-cpu-s"),
			r.cell(n, "MiB-scanned/search"), r.cell(n, "levels"), r.cell(n, "cut-share"), r.cell(n, "found"), r.cell(n, "searches"))
	}
	p("\n")
}

func heapName(h string) string {
	if h == "1024MiB" {
		return "1 GiB"
	}
	return h[:len(h)-3] + " MiB"
}
