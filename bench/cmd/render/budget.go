package main

// renderBudget states the goals of the overhead budget (issue 18) and,
// per load, the rate it settled on, the overhead leakscope estimated
// there, and the detection limit that rate leaves.
func renderBudget(p printer, r *result) {
	const v = "leakscope-budget"
	full := "BenchmarkTargetThroughput/max/"
	busy := "BenchmarkTargetThroughput/1GBps-busy/"
	p("## Overhead budget (default `--max-overhead 1%%`)\n\n")
	p("The leakscope-budget variant runs `leakscope --interval 2s` with the default\n")
	p("budget and measures once the budget has raised the rate (or after %s s).\n", "15")
	p("\"Unwatched\" is the program as shipped: sampling off.\n\n")
	p("| goal | measured (median, range over the runs) | verdict |\n| --- | --- | --- |\n")
	fullRatio := r.med(full+v, "ratio-vs-base")
	p("| a target doing nothing but allocate keeps at least 97%% of its unwatched throughput | full speed: throughput ratio %s (A/A %s; without the budget %s) | %s |\n",
		r.cell(full+v, "ratio-vs-base"), r.cell(full+"baseline", "ratio-vs-base"), r.cell(full+"leakscope", "ratio-vs-base"),
		verdict(fullRatio >= 0.97))
	busyMin := 1.0
	if s, ok := r.stat(busy+v, "ratio-vs-base"); ok {
		busyMin = s.min
	}
	p("| CPU bound at 1 GB/s: at most 1%% throughput lost in every run | throughput ratio %s (A/A %s) | %s |\n",
		r.cell(busy+v, "ratio-vs-base"), r.cell(busy+"baseline", "ratio-vs-base"), verdict(busyMin >= 0.99))
	p("\n| load | rate, bytes | estimated overhead, %% of a core | detection limit within 1 min, B/s | within 5 min, B/s |\n| --- | --- | --- | --- | --- |\n")
	for _, l := range loads {
		n := "BenchmarkTargetThroughput/" + l.name + "/" + v
		p("| %s | %s | %s | %s | %s |\n", l.title, r.cell(n, "rate-bytes"), r.cell(n, "est-overhead-%core"),
			r.cell(n, "detect-1m-B/s"), r.cell(n, "detect-5m-B/s"))
	}
	p("\n")
}
