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
	p("`main.ballast`); the benchmark process searches what holds the tail of the\n")
	p("last list, back to back through the variant windows, with the default\n")
	p("budget (2 s), as leakscope does. Windows as in `BenchmarkTargetThroughput`.\n")
	p("CPU is the searching thread's clock.\n\n")
	p("| goal | measured (median, range over the runs) | verdict |\n| --- | --- | --- |\n")
	for _, h := range searchHeaps {
		n := "BenchmarkSearchThroughput/heap=" + h + "/"
		aa, _ := r.stat(n+"baseline", "ratio-vs-base")
		with := r.med(n+"search", "ratio-vs-base")
		v := verdict(with >= aa.min && with <= aa.max)
		if with < aa.min {
			v += fmt.Sprintf(": %s below the lowest A/A ratio", pct(aa.min-with))
		}
		p("| %s of pointer-bearing heap: the target's throughput during searches stays within A/A noise | throughput ratio %s (A/A %s); per CPU-s %s (A/A %s); GC pause p99 %s us (baseline windows %s us) | %s |\n",
			heapName(h), r.cell(n+"search", "ratio-vs-base"), r.cell(n+"baseline", "ratio-vs-base"),
			r.cell(n+"search", "cpu-ratio-vs-base"), r.cell(n+"baseline", "cpu-ratio-vs-base"),
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
