// Command render turns the output of leakscope's Go benchmarks (package
// bench, run by `make bench`) into docs/BENCHMARKS.md: the command, the
// machine, and per benchmark the median of every metric over the runs with
// its range, followed by the raw benchmark lines. It fails when the run
// failed, skipped, or lacks a benchmark or runs.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// minRuns is the fewest runs per benchmark the document may be built on;
// the watch-cost runs take minutes each and run once.
const (
	minRuns      = 5
	minWatchRuns = 1
	// minSearchRuns: BenchmarkSearchThroughput builds a 1 GiB heap per run.
	minSearchRuns = 3
)

// The benchmarks the document reports; all must be present.
var (
	probeVariants = []string{"none", "entry", "prologue"}
	loads         = []struct{ name, title string }{
		{"max", "at full speed"},
		{"1GBps-busy", "CPU bound at about 1 GB/s"},
		{"1GBps", "throttled to 1 GB/s"},
		{"100MBps", "throttled to 100 MB/s"},
	}
	monitorVariants = []string{"baseline", "sampling", "gc-probe", "leakscope", "leakscope-budget", "all-allocs", "pprof-poll"}
	watchTargets    = []int{1, 10, 50}
	snapshotSizes   = []string{"100K", "1000K"}
)

// Claims of /work/shared/docs/go-runtime-hooks.md ("reference notes") that
// this run checks.
const (
	refEntryNs    = 9500
	refPrologueNs = 830
	refNoneNs     = 4
)

type run struct {
	metrics map[string]float64
}

type result struct {
	cpu      string
	loadavg  []string
	raw      []string
	runs     map[string][]run // by benchmark name without the -GOMAXPROCS suffix
	ok       bool
	problems []string
}

var procSuffix = regexp.MustCompile(`-\d+$`)

func parse(r io.Reader) (*result, error) {
	res := &result{runs: map[string][]run{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "cpu: "):
			res.cpu = strings.TrimPrefix(line, "cpu: ")
		case strings.HasPrefix(line, "loadavg-"):
			res.loadavg = append(res.loadavg, line)
		case strings.HasPrefix(line, "ok ") || strings.HasPrefix(line, "ok\t"):
			res.ok = true
		case strings.HasPrefix(line, "FAIL") || strings.Contains(line, "--- FAIL") || strings.Contains(line, "--- SKIP") || strings.HasPrefix(line, "panic:"):
			res.problems = append(res.problems, line)
		case strings.HasPrefix(line, "Benchmark"):
			f := strings.Fields(line)
			if len(f) < 4 || len(f)%2 != 0 {
				continue // a name printed before its result, or a log line
			}
			name := procSuffix.ReplaceAllString(f[0], "")
			m := map[string]float64{}
			for i := 2; i+1 < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					return nil, fmt.Errorf("bad value %q in %q", f[i], line)
				}
				m[f[i+1]] = v
			}
			res.runs[name] = append(res.runs[name], run{metrics: m})
			res.raw = append(res.raw, line)
		}
	}
	return res, sc.Err()
}

// stat is the median and range of one metric over the runs.
type stat struct {
	med, min, max float64
	n             int
}

func (r *result) stat(name, metric string) (stat, bool) {
	var vs []float64
	for _, ru := range r.runs[name] {
		if v, ok := ru.metrics[metric]; ok {
			vs = append(vs, v)
		}
	}
	return summarize(vs)
}

// summarize is the median and range of vs (which it sorts).
func summarize(vs []float64) (stat, bool) {
	if len(vs) == 0 {
		return stat{}, false
	}
	sort.Float64s(vs)
	n := len(vs)
	med := vs[n/2]
	if n%2 == 0 {
		med = (vs[n/2-1] + vs[n/2]) / 2
	}
	return stat{med: med, min: vs[0], max: vs[n-1], n: n}, true
}

// check lists why the run cannot be reported.
func (r *result) check() []string {
	errs := append([]string(nil), r.problems...)
	if !r.ok {
		errs = append(errs, "no final \"ok\" line: the benchmark run did not pass")
	}
	var names []string
	for _, v := range probeVariants {
		names = append(names, "BenchmarkProbeHit/"+v)
	}
	for _, l := range loads {
		for _, v := range monitorVariants {
			names = append(names, "BenchmarkTargetThroughput/"+l.name+"/"+v)
		}
	}
	for _, v := range pairedVariants {
		names = append(names, "BenchmarkBusyPaired/"+v)
	}
	for _, v := range maxPairedVariants {
		names = append(names, "BenchmarkMaxPaired/"+v)
	}
	for _, s := range snapshotSizes {
		names = append(names, "BenchmarkSnapshot/live="+s)
	}
	names = append(names, goroutineNames()...)
	for _, n := range names {
		if got := len(r.runs[n]); got < minRuns {
			errs = append(errs, fmt.Sprintf("%s: %d runs, want at least %d", n, got, minRuns))
		}
	}
	for _, n := range searchNames() {
		if got := len(r.runs[n]); got < minSearchRuns {
			errs = append(errs, fmt.Sprintf("%s: %d runs, want at least %d", n, got, minSearchRuns))
		}
	}
	for _, t := range watchTargets {
		n := fmt.Sprintf("BenchmarkWatchCost/targets=%d", t)
		if got := len(r.runs[n]); got < minWatchRuns {
			errs = append(errs, fmt.Sprintf("%s: %d runs, want at least %d", n, got, minWatchRuns))
		}
	}
	return errs
}

// fmtNum prints v with about three significant digits.
func fmtNum(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	switch {
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// cell is "median (min–max)" of a metric, or "–".
func (r *result) cell(name, metric string) string {
	return r.cellf(name, metric, fmtNum)
}

// cellf is cell with its own number format.
func (r *result) cellf(name, metric string, f func(float64) string) string {
	s, ok := r.stat(name, metric)
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.med), f(s.min), f(s.max))
}

func (r *result) med(name, metric string) float64 {
	s, _ := r.stat(name, metric)
	return s.med
}

// machine describes the host from /proc.
type machine struct {
	kernel, cpuModel, memTotal string
	note                       string // what else ran on the host
	cpus                       int
	hypervisor                 bool
}

func readMachine() machine {
	var m machine
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch k {
			case "processor":
				m.cpus++
			case "model name":
				if m.cpuModel == "" {
					m.cpuModel = v
				}
			case "flags":
				if strings.Contains(" "+v+" ", " hypervisor ") {
					m.hypervisor = true
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				m.memTotal = strings.TrimSpace(v)
			}
		}
	}
	return m
}

func render(w io.Writer, r *result, cmd string, m machine, now time.Time) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# Benchmarks\n\n")
	p("Generated by `make bench` (bench/cmd/render) on %s; do not edit by hand,\n", now.UTC().Format("2006-01-02 15:04 MST"))
	p("run `make bench` again. Every number below comes from this run.\n\n")
	p("Commands (`make bench` runs them in this order):\n\n```\n%s\n```\n\n", cmd)
	p("Each cell is the median over the runs, with the range (min–max) in\n")
	p("parentheses. Raw benchmark output is at the end.\n\n")

	p("## Machine\n\n")
	p("| | |\n| --- | --- |\n")
	p("| kernel | %s |\n", m.kernel)
	virt := ""
	if m.hypervisor {
		virt = " (virtual machine: hypervisor flag set)"
	}
	p("| CPU | %s%s |\n", m.cpuModel, virt)
	p("| cores | %d |\n", m.cpus)
	p("| memory | %s |\n", m.memTotal)
	p("| Go | %s %s/%s |\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, l := range r.loadavg {
		k, v, _ := strings.Cut(l, ":")
		p("| %s | %s |\n", k, strings.TrimSpace(v))
	}
	if m.note != "" {
		p("| other work on the host | %s |\n", m.note)
	}
	p("\nThe host may run other work during a run (the load averages above show\n")
	p("how much); that is why every ratio is taken against a baseline measured\n")
	p("in the same invocation, interleaved with the variant.\n\n")

	renderGoals(p, r)
	renderBudget(p, r)
	p("## Summary\n\n")
	pro, ent := "BenchmarkProbeHit/prologue", "BenchmarkProbeHit/entry"
	p("- One probe hit where leakscope attaches (`PUSHQ BP`): %s ns (trap %s ns,\n",
		fmtNum(r.med(pro, "overhead-ns/hit")), fmtNum(r.med(pro, "trap-ns/hit")))
	p("  BPF program %s ns); on the entry instruction: %s ns, %s times as much.\n",
		fmtNum(r.med(pro, "bpf-ns/hit")), fmtNum(r.med(ent, "overhead-ns/hit")),
		fmtNum(r.med(ent, "overhead-ns/hit")/r.med(pro, "overhead-ns/hit")))
	for _, l := range loads {
		n := "BenchmarkTargetThroughput/" + l.name + "/"
		p("- Target %s (%s samples/s), bytes per CPU second of the target\n",
			l.title, fmtNum(r.med(n+"leakscope", "seen-samples/s")))
		p("  relative to no monitor, median (range): leakscope %s, sampling only %s,\n",
			r.cell(n+"leakscope", "cpu-ratio-vs-base"), r.cell(n+"sampling", "cpu-ratio-vs-base"))
		p("  A/A noise %s. Throughput ratio: leakscope %s, sampling only %s,\n",
			r.cell(n+"baseline", "cpu-ratio-vs-base"), r.cell(n+"leakscope", "ratio-vs-base"),
			r.cell(n+"sampling", "ratio-vs-base"))
		p("  A/A %s.\n", r.cell(n+"baseline", "ratio-vs-base"))
	}
	p("\n")

	p("## Cost of one probe hit\n\n")
	p("`BenchmarkProbeHit`: testdata/bench/probecost calls `main.hit`, a\n")
	p("`//go:noinline` function with the usual Go prologue (`CMPQ SP, 0x10(R14)`;\n")
	p("`JBE`; `PUSHQ BP`; `MOVQ SP, BP`), in a tight loop. The uprobe runs\n")
	p("leakscope's own `gc_mark_termination` program with the fixture registered in\n")
	p("the `targets` map (map lookup, atomic add, per-CPU counter), attached with\n")
	p("`link.OpenExecutable(\"/proc/PID/exe\").Uprobe(..., {Address, PID})`:\n\n")
	p("- none: no probe;\n")
	p("- entry: on the function's first instruction, the stack-bound check;\n")
	p("- prologue: on `PUSHQ BP`, found by `gobin.Binary.Hook` exactly as\n")
	p("  leakscope finds its runtime hooks.\n\n")
	p("One invocation runs, in one process, rounds of none, probe with BPF\n")
	p("statistics, probe, probe, probe with statistics, none (%s).\n", "0.2 s without a probe, 0.3 s with")
	p("ns/hit is the time per call from the rounds without statistics;\n")
	p("the overhead is that minus no probe, per probe hit; the BPF program's own\n")
	p("time comes from the kernel's run-time statistics (`ebpf.EnableStats`,\n")
	p("`prog.Stats()`) in the other rounds, and the trap is the rest. The\n")
	p("statistics themselves cost a little per run (last column); they are off\n")
	p("while ns/hit is measured.\n\n")
	p("| probe | ns/hit | overhead per hit, ns | BPF program, ns | trap, ns | extra hits per million calls | vs none | stats accounting, ns |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, v := range probeVariants {
		n := "BenchmarkProbeHit/" + v
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", v,
			r.cell(n, "ns/hit"), r.cell(n, "overhead-ns/hit"), r.cell(n, "bpf-ns/hit"),
			r.cell(n, "trap-ns/hit"), r.cell(n, "extra-hits/Mcalls"), r.cell(n, "ratio-vs-none"),
			r.cell(n, "statsacct-ns/hit"))
	}
	entryNs := r.med(ent, "overhead-ns/hit")
	proNs := r.med(pro, "overhead-ns/hit")
	p("\nA hit at the entry costs %s times a hit at `PUSHQ BP`", fmtNum(entryNs/proNs))
	p(" (medians).\n")
	p("Against the team's reference notes (shared/docs/go-runtime-hooks.md, outside this repository; measured earlier on\n")
	p("this kind of machine):\n\n")
	p("| | reference | this run (median) |\n| --- | --- | --- |\n")
	p("| entry | ~%.1f us | %s us |\n", float64(refEntryNs)/1000, fmtNum(r.med("BenchmarkProbeHit/entry", "ns/hit")/1000))
	p("| `PUSHQ BP` | ~%.2f us | %s us |\n", float64(refPrologueNs)/1000, fmtNum(r.med("BenchmarkProbeHit/prologue", "ns/hit")/1000))
	p("| no probe | ~%d ns | %s ns |\n", refNoneNs, fmtNum(r.med("BenchmarkProbeHit/none", "ns/hit")))
	p("| entry / `PUSHQ BP` | ~%s | %s |\n\n", fmtNum(float64(refEntryNs)/refPrologueNs), fmtNum(entryNs/proNs))
	p("At the entry the probe fired %s times per million calls more than the\n", fmtNum(r.med("BenchmarkProbeHit/entry", "extra-hits/Mcalls")))
	p("calls made (median): for those calls the stack check failed (stack growth\n")
	p("or a preemption request), `morestack` ran, and the function restarted\n")
	p("from its entry instruction. A probe on `PUSHQ BP` sits after that check and\n")
	p("fires exactly once per call (the benchmark fails otherwise).\n\n")
	p("## Target throughput with and without leakscope\n\n")
	p("`BenchmarkTargetThroughput`: testdata/bench/allocs runs 4 goroutines\n")
	p("allocating as fast as they can (or throttled), each keeping its last 4096\n")
	p("objects alive. By count: 30%% 32-byte pointer structs, 20%% 8–64 byte\n")
	p("slices, 15%% 128-byte records (plus a 32-byte slice), 20%% 128–1023 bytes,\n")
	p("10%% 1–4 KiB, 4%% 4–32 KiB, 1%% 32–256 KiB; by bytes the buffers of 4 KiB and\n")
	p("more dominate. It has no pprof, so it starts with `MemProfileRate = 0`.\n\n")
	p("Loads: at full speed, allocation is all the target does (the worst case\n")
	p("per byte). *CPU bound at about 1 GB/s*: after each allocation the target\n")
	p("computes ~1 ns of integer arithmetic per so many bytes allocated, calibrated\n")
	p("in each invocation (one second without work, one with a trial amount) so\n")
	p("that at full speed on all cores it allocates about 1 GB/s (500 MB/s per\n")
	p("core on this machine: a service allocating heavily); the work per KiB is in\n")
	p("the raw output (`work-iters/KiB`). CPU bound, the target shows what\n")
	p("watching costs it as lost throughput. Throttled: a rate limit with CPU to\n")
	p("spare, so throughput holds and the price is CPU per byte.\n\n")
	p("- baseline: nothing changes (an A/A run: its ratio is the method's noise);\n")
	p("- sampling: `runtime.MemProfileRate` set to 512 KiB through `/proc/PID/mem`,\n")
	p("  no probes: the runtime's own heap sampling;\n")
	p("- gc-probe: leakscope's GC-tick program alone on `runtime.gcMarkTermination`\n")
	p("  (attached as the tracer attaches it, the target registered), sampling\n")
	p("  left off: the probe that runs inside the GC's stop-the-world pause;\n")
	p("- leakscope: the real command, `leakscope --pid PID --interval %s --out DIR`,\n", "10s")
	p("  which attaches its three probes and turns sampling on at 512 KiB by itself.\n")
	p("  `--out` lets the benchmark check in `suspects.json` that leakscope saw\n")
	p("  samples, frees and GC cycles (it fails otherwise); leakscope writes there\n")
	p("  only every interval and at exit, outside the windows;\n")
	p("- all-allocs: the same command with `--mode=all-allocs`, which also probes\n")
	p("  `runtime.mallocgc` (every heap allocation, a stack walk each) for exact\n")
	p("  allocation counts per site;\n")
	p("- pprof-poll: no leakscope; the in-process alternative. The target sets its\n")
	p("  own `runtime.MemProfileRate` to 512 KiB and fetches its own\n")
	p("  `/debug/pprof/heap` (net/http/pprof on 127.0.0.1) 1 s after the switch and\n")
	p("  then every 10 s: one fetch falls into the two windows, so this charges\n")
	p("  a poll per 4 s, 2.5 times the steady rate of one per 10 s.\n\n")
	p("One invocation starts a fresh target, warms up for 1 s, then measures four\n")
	p("2 s windows: baseline, variant, variant, baseline (leakscope runs across\n")
	p("both variant windows: started and attached before the first, stopped with\n")
	p("SIGINT after the second, which restores the rate; the benchmark checks\n")
	p("that it is 0 again before the last baseline window). The target counts\n")
	p("the bytes it allocates and its own CPU time (getrusage). MB/s is 10^6\n")
	p("bytes per second. \"Ratio\" is variant / baseline of the same invocation;\n")
	p("\"per CPU-s ratio\" compares bytes allocated per CPU second the target used,\n")
	p("which does not depend on how much CPU other work left it, and is the\n")
	p("measure that matters when the target is throttled. Probe time is charged\n")
	p("to the target (uprobes run in its threads); leakscope's own CPU is listed\n")
	p("separately.\n\n")
	for _, l := range loads {
		p("### %s\n\n", strings.ToUpper(l.title[:1])+l.title[1:])
		p("| variant | MB/s | baseline MB/s | ratio | per CPU-s ratio | target cores | baseline cores | other load, cores | samples/s expected | samples/s seen by leakscope | leakscope cores | leakscope final report, CPU ms |\n")
		p("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, v := range monitorVariants {
			n := "BenchmarkTargetThroughput/" + l.name + "/" + v
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v,
				r.cell(n, "MB/s"), r.cell(n, "base-MB/s"), r.cell(n, "ratio-vs-base"),
				r.cell(n, "cpu-ratio-vs-base"), r.cell(n, "cores"), r.cell(n, "base-cores"),
				r.cell(n, "other-cores"),
				r.cell(n, "samples/s"), r.cell(n, "seen-samples/s"),
				r.cell(n, "leakscope-cores"), r.cell(n, "final-report-cpu-ms"))
		}
		p("\n")
	}
	p("Columns:\n\n")
	p("- target cores: CPU the target got during the variant windows; baseline\n")
	p("  cores: during its baseline windows. A gap between the two that the A/A\n")
	p("  row does not show means the variant changed how much the target could\n")
	p("  run, not only how much work each byte took.\n")
	p("- other load: CPU the rest of the host used during the four windows\n")
	p("  (/proc/stat busy time minus the target's). Where it is high, other work\n")
	p("  took CPU from the target and MB/s and its ratio mostly show that; read\n")
	p("  the per CPU-s ratio instead. Compare MB/s within a row, not across rows.\n")
	p("- samples/s expected: bytes per second / 512 KiB, an upper bound (an object\n")
	p("  spanning several sample points is sampled once); seen: leakscope's\n")
	p("  sampled allocations over the time it was attached. For leakscope-budget,\n")
	p("  samples/s is what its probe counted in the windows, at the budget's rate,\n")
	p("  and seen is left out (most were taken before the budget acted).\n")
	p("- leakscope cores: the command's own CPU during the two windows. With\n")
	p("  `--interval 10s` no periodic snapshot falls into them (they end about\n")
	p("  4 s after attaching), so the cost of one snapshot and report is shown by\n")
	p("  the final one: CPU between attach and exit, including writing\n")
	p("  `suspects.json` and a pprof profile. It recurs once per interval.\n\n")

	renderSampleCost(p, r)
	renderPauses(p, r)
	renderWatchCost(p, r)
	renderSnapshot(p, r)
	renderGoroutines(p, r)
	renderSearch(p, r)
	p("## Raw results\n\n```\n")
	for _, l := range r.raw {
		p("%s\n", l)
	}
	p("```\n")
}

func main() {
	in := flag.String("in", "bench/out.txt", "output of the benchmark run")
	out := flag.String("out", "docs/BENCHMARKS.md", "document to write")
	var cmds []string
	flag.Func("cmd", "a command that produced -in, quoted in the document (repeatable, in order)", func(s string) error {
		cmds = append(cmds, s)
		return nil
	})
	note := flag.String("note", "", "what else ran on the host during the benchmarks, for the machine notes")
	flag.Parse()
	if len(cmds) == 0 {
		fmt.Fprintln(os.Stderr, "render: -cmd is required: the document must say how its numbers were made")
		os.Exit(2)
	}
	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	res, err := parse(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	if errs := res.check(); len(errs) > 0 {
		fmt.Fprintf(os.Stderr, "render: %s is not a complete, passing benchmark run; %s left unchanged:\n", *in, *out)
		for _, e := range errs {
			fmt.Fprintln(os.Stderr, "  "+e)
		}
		os.Exit(1)
	}
	var sb strings.Builder
	m := readMachine()
	m.note = *note
	render(&sb, res, strings.Join(cmds, "\n"), m, time.Now())
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, []byte(sb.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	if err := os.Rename(tmp, *out); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	fmt.Println("render: wrote", *out)
}
