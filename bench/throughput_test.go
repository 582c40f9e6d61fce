package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/leakscope/leakscope/bpf"
	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/symbolize"
	"github.com/leakscope/leakscope/tracer"
)

const (
	// sampleRate is what leakscope writes into a target's
	// runtime.MemProfileRate when it finds sampling off (the Go default).
	sampleRate = 512 * 1024
	// window is one measurement window; warmup runs before the first.
	// bench/cmd/render describes both: keep it in step.
	window = 2 * time.Second
	// budgetSettle is the longest the budget variant waits for the
	// budget to act (a few of its 2 s intervals).
	budgetSettle = 15 * time.Second
	warmup       = 1 * time.Second
	// cliInterval is leakscope's --interval, its default.
	cliInterval = "10s"
)

// loads are the allocation rates of BenchmarkTargetThroughput.
// bench/cmd/render lists the same names.
//   - rate: a throttle (0: as fast as the target can);
//   - busyRate: no throttle; the target does CPU work between allocations,
//     as much as makes it allocate about busyRate at full speed on every
//     core. It is CPU bound, like a busy service, so what watching costs
//     it shows as lost throughput.
var loads = []struct {
	name           string
	rate, busyRate int64
}{{"max", 0, 0}, {"1GBps-busy", 0, busyRate}, {"1GBps", 1_000_000_000, 0}, {"100MBps", 100_000_000, 0}}

// busyRate is the allocation rate the CPU-bound load is calibrated to.
const busyRate = 1_000_000_000

// BenchmarkTargetThroughput measures the allocation throughput of
// testdata/bench/allocs (4 goroutines allocating a mix of sizes, on all
// cores) at full speed ("max"), CPU bound at about 1 GB/s ("1GBps-busy"),
// and throttled to 1 GB/s and 100 MB/s:
//
//   - baseline: nothing changes between windows (an A/A run: its ratio
//     shows the noise of the method itself).
//   - sampling: runtime.MemProfileRate set to 512 KiB through /proc/PID/mem,
//     no probes: what the runtime's own heap sampling costs.
//   - leakscope: the real command, `leakscope --pid PID --interval 10s`,
//     which attaches its three probes and switches sampling on by itself
//     (with --out, so the benchmark can check from suspects.json that it
//     saw samples, frees and GC cycles; it writes only at the interval and
//     at exit, outside the windows).
//   - gc-probe: only leakscope's GC-tick probe (its gcMarkTermination
//     program on runtime.gcMarkTermination, the target registered), with
//     sampling left off: what the probe that runs inside the GC's
//     stop-the-world pause costs, alone.
//   - all-allocs: the same with --mode=all-allocs (a probe on every
//     allocation).
//   - pprof-poll: no leakscope; the target itself turns on heap sampling
//     and fetches its own /debug/pprof/heap (1 s after the switch, then
//     every 10 s): what a user would do in-process instead.
//
// One invocation runs one fresh target and four windows: baseline,
// variant, variant, baseline. MB/s is the variant's throughput, base-MB/s
// the baseline's, ratio-vs-base their quotient; MB/cpu-s and
// cpu-ratio-vs-base do the same per CPU second the target used, which is
// what matters when the target is not CPU bound (the throttled load) or
// when other work on the host takes CPU from it.
func BenchmarkTargetThroughput(b *testing.B) {
	for _, load := range loads {
		b.Run(load.name, func(b *testing.B) {
			for _, v := range []string{"baseline", "sampling", "gc-probe", "leakscope", "leakscope-budget", "all-allocs", "pprof-poll"} {
				b.Run(v, func(b *testing.B) { targetThroughput(b, v, load.rate, load.busyRate, window) })
			}
		})
	}
}

// allocWindow is what the fixture reports for one window, plus the CPU
// time the whole host was busy meanwhile.
type allocWindow struct {
	bytes, ns, cpuNs, gcs int64
	hostNs                int64
	// GC stop-the-world pauses: count, mean, and the largest p99, max and
	// stopping-phase p99 of the windows added (bucket upper bounds).
	pauses, pauseMeanNs, pauseP99Ns, pauseMaxNs, stopP99Ns int64
}

func (w *allocWindow) add(o allocWindow) {
	w.bytes += o.bytes
	w.ns += o.ns
	w.cpuNs += o.cpuNs
	w.gcs += o.gcs
	w.hostNs += o.hostNs
	if n := w.pauses + o.pauses; n > 0 {
		w.pauseMeanNs = (w.pauseMeanNs*w.pauses + o.pauseMeanNs*o.pauses) / n
	}
	w.pauses += o.pauses
	w.pauseP99Ns = max(w.pauseP99Ns, o.pauseP99Ns)
	w.pauseMaxNs = max(w.pauseMaxNs, o.pauseMaxNs)
	w.stopP99Ns = max(w.stopP99Ns, o.stopP99Ns)
}

// otherCores is the CPU everything but the target used on the host, on
// average, in cores: other work competing with the target.
func (w allocWindow) otherCores() float64 { return float64(w.hostNs-w.cpuNs) / float64(w.ns) }

// hostBusyNs is the CPU time all CPUs spent busy (not idle, not waiting for
// I/O, not stolen) since boot, from /proc/stat, in nanoseconds.
func hostBusyNs(b *testing.B) int64 {
	b.Helper()
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		b.Fatalf("unexpected /proc/stat: %q", line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system irq softirq
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			b.Fatalf("unexpected /proc/stat: %q", line)
		}
		busy += v
	}
	return busy * 1e7 // USER_HZ is 100 on Linux
}

func (w allocWindow) mbps() float64      { return float64(w.bytes) / float64(w.ns) * 1e3 }
func (w allocWindow) mbPerCPU() float64  { return float64(w.bytes) / float64(w.cpuNs) * 1e3 }
func (w allocWindow) cores() float64     { return float64(w.cpuNs) / float64(w.ns) }
func (w allocWindow) gcPerSec() float64  { return float64(w.gcs) / float64(w.ns) * 1e9 }
func (w allocWindow) samplesPS() float64 { return float64(w.bytes) / sampleRate / float64(w.ns) * 1e9 }

// variant switches what is measured on and off between windows.
type variant interface {
	on(b *testing.B)
	off(b *testing.B)
}

func targetThroughput(b *testing.B, name string, rate, busyRate int64, window time.Duration) {
	testutil.RequireBPF(b)
	bin := build(b, "allocs", "./testdata/bench/allocs")
	var cli string
	if name == "leakscope" || name == "all-allocs" || name == "leakscope-budget" {
		cli = build(b, "leakscope", "./cmd/leakscope")
	}
	fx := startFixture(b, bin, "-workers", "4")
	mpr := profileRate(b, fx.pid)
	if v, err := mpr.Read(); err != nil || v != 0 {
		b.Fatalf("fixture's runtime.MemProfileRate is %d (%v), want 0: it must start with sampling off", v, err)
	}
	if rate > 0 {
		fx.ask(b, fmt.Sprintf("rate %d", rate), "rate", 10*time.Second)
	}
	measure := func(d time.Duration) allocWindow { return fx.measure(b, d) }
	measure(warmup)
	if busyRate > 0 {
		calibrateWork(b, fx, measure, busyRate)
		measure(warmup)
	}

	var v variant
	var ls *cliVariant
	switch name {
	case "baseline":
		v = nopVariant{}
	case "sampling":
		v = samplingVariant{mpr}
	case "leakscope", "all-allocs", "leakscope-budget":
		ls = &cliVariant{bin: cli, pid: fx.pid, mpr: mpr, out: b.TempDir()}
		switch name {
		case "leakscope", "all-allocs":
			// The cost per sample at 512 KiB: no budget moving the rate.
			ls.args = []string{"--max-overhead=0"}
			if name == "all-allocs" {
				ls.args = append(ls.args, "--mode=all-allocs")
			}
		case "leakscope-budget":
			// The default budget, measured once it has acted: snapshots
			// every 2 s, so it raises the rate within seconds.
			ls.args, ls.settle = []string{"--interval=2s"}, budgetSettle
		}
		b.Cleanup(ls.kill)
		v = ls
	case "pprof-poll":
		v = pprofVariant{fx}
	case "gc-probe":
		v = &gcProbeVariant{pid: fx.pid}
	}

	var base, with allocWindow
	base.add(measure(window))
	v.on(b)
	var stats *cliStats
	if ls != nil {
		stats = ls.beginStats(b)
	}
	with.add(measure(window))
	with.add(measure(window))
	var cliCPU int64
	var prog0, prog1 map[string]progStat
	if ls != nil {
		cliCPU, prog0, prog1 = stats.end(b)
	}
	v.off(b)
	base.add(measure(window))

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(with.mbps(), "MB/s")
	b.ReportMetric(base.mbps(), "base-MB/s")
	b.ReportMetric(with.mbps()/base.mbps(), "ratio-vs-base")
	b.ReportMetric(with.mbPerCPU(), "MB/cpu-s")
	b.ReportMetric(base.mbPerCPU(), "base-MB/cpu-s")
	b.ReportMetric(with.mbPerCPU()/base.mbPerCPU(), "cpu-ratio-vs-base")
	b.ReportMetric(with.cores(), "cores")
	b.ReportMetric(base.cores(), "base-cores")
	b.ReportMetric(with.gcPerSec(), "gc/s")
	b.ReportMetric(base.gcPerSec(), "base-gc/s")
	b.ReportMetric(float64(with.pauseMeanNs)/1e3, "pause-mean-us")
	b.ReportMetric(float64(base.pauseMeanNs)/1e3, "base-pause-mean-us")
	b.ReportMetric(float64(with.pauseP99Ns)/1e3, "pause-p99-us")
	b.ReportMetric(float64(base.pauseP99Ns)/1e3, "base-pause-p99-us")
	b.ReportMetric(float64(with.stopP99Ns)/1e3, "stop-p99-us")
	b.ReportMetric(float64(base.stopP99Ns)/1e3, "base-stop-p99-us")
	all := base
	all.add(with)
	b.ReportMetric(all.otherCores(), "other-cores")
	switch {
	case ls != nil && ls.settle > 0:
		// The budget's variant: the samples leakscope's probe saw in the
		// windows, at the rate in force (the budget's, not 512 KiB).
		b.ReportMetric(float64(prog1["setprofilebucket"].runs-prog0["setprofilebucket"].runs)/float64(with.ns)*1e9, "samples/s")
	case name != "baseline" && name != "gc-probe": // the others sample at 512 KiB
		b.ReportMetric(with.samplesPS(), "samples/s")
	}
	if ls != nil {
		reportProgStats(b, prog0, prog1)
	}
	if ls != nil && ls.report.Events["mallocs"] > 0 {
		b.ReportMetric(float64(ls.report.Events["mallocs"])/ls.stopped.Sub(ls.attached).Seconds(), "mallocs/s")
	}
	if ls != nil {
		b.ReportMetric(float64(cliCPU)/float64(with.ns), "leakscope-cores")
		b.ReportMetric(float64(ls.exitCPU-ls.attachCPU)/1e6, "final-report-cpu-ms")
		if ls.settle == 0 { // with the budget, most were taken before it raised the rate
			b.ReportMetric(float64(ls.report.SampledAllocs)/ls.stopped.Sub(ls.attached).Seconds(), "seen-samples/s")
		}
	}
	if c := ls.costReport(); c != nil {
		b.ReportMetric(float64(c.EffectiveRate), "rate-bytes")
		if c.EstimatedOverhead != nil {
			b.ReportMetric(100**c.EstimatedOverhead, "est-overhead-%core")
		}
		if c.Limit1m != nil && c.Limit5m != nil {
			b.ReportMetric(*c.Limit1m, "detect-1m-B/s")
			b.ReportMetric(*c.Limit5m, "detect-5m-B/s")
		}
	}
}

// measure has the fixture measure one window of d.
func (fx *fixture) measure(b *testing.B, d time.Duration) allocWindow {
	b.Helper()
	h0 := hostBusyNs(b)
	a := fx.ask(b, fmt.Sprintf("measure %d", d.Milliseconds()), "measured", d+time.Minute)
	h1 := hostBusyNs(b)
	if len(a) != 9 {
		b.Fatalf("fixture answered %v to measure, want 9 numbers", a)
	}
	return allocWindow{bytes: a[0], ns: a[1], cpuNs: a[2], gcs: a[3], hostNs: h1 - h0,
		pauses: a[4], pauseMeanNs: a[5], pauseP99Ns: a[6], pauseMaxNs: a[7], stopP99Ns: a[8]}
}

// calibrateWork sets the fixture's CPU work per KiB allocated so that it
// allocates about rate bytes per second at full speed. Time per KiB is
// about a + c*work (a: allocating, c: one iteration of work), so one
// window without work and one with a trial amount give a and c.
func calibrateWork(b *testing.B, fx *fixture, measure func(time.Duration) allocWindow, rate int64) int64 {
	const trial = 1000
	kibPerNs := func(w allocWindow) float64 { return float64(w.bytes) / 1024 / float64(w.ns) }
	fast := kibPerNs(measure(time.Second))
	fx.ask(b, fmt.Sprintf("work %d", trial), "work", 10*time.Second)
	slow := kibPerNs(measure(time.Second))
	a := 1 / fast
	c := (1/slow - a) / trial
	want := float64(rate) / 1024 / 1e9
	if c <= 0 || 1/want <= a {
		b.Fatalf("calibrating work: %.3g KiB/ns without, %.3g with %d iterations: cannot reach %d B/s", fast, slow, trial, rate)
	}
	work := int64((1/want - a) / c)
	fx.ask(b, fmt.Sprintf("work %d", work), "work", 10*time.Second)
	b.ReportMetric(float64(work), "work-iters/KiB")
	return work
}

// resolveHooks finds leakscope's hooks in the running fixture.
func resolveHooks(b *testing.B, pid int) *gobin.Hooks {
	b.Helper()
	bin, err := gobin.Open(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer bin.Close()
	hooks, err := bin.ResolveHooks()
	if err != nil {
		b.Fatal(err)
	}
	return hooks
}

// profileRate locates runtime.MemProfileRate in the running fixture, the
// way leakscope does.
func profileRate(b *testing.B, pid int) tracer.ProfileRate {
	b.Helper()
	hooks := resolveHooks(b, pid)
	proc, err := symbolize.OpenProcess(pid, nil)
	if err != nil {
		b.Fatal(err)
	}
	return tracer.ProfileRate{PID: uint32(pid), Addr: hooks.MemProfileRateAddr + proc.Bias()}
}

type nopVariant struct{}

func (nopVariant) on(*testing.B)  {}
func (nopVariant) off(*testing.B) {}

// samplingVariant switches the runtime's heap sampling on, with no probes.
type samplingVariant struct{ mpr tracer.ProfileRate }

func (s samplingVariant) on(b *testing.B) {
	if old, err := s.mpr.Set(sampleRate); err != nil || old != 0 {
		b.Fatalf("setting MemProfileRate: was %d, %v", old, err)
	}
}

func (s samplingVariant) off(b *testing.B) {
	if old, err := s.mpr.Set(0); err != nil || old != sampleRate {
		b.Fatalf("resetting MemProfileRate: was %d, %v", old, err)
	}
}

// gcProbeVariant attaches leakscope's GC-tick program alone, the way the
// tracer does (target registered, probe after the prologue), and checks on
// detach that it counted the target's GC cycles.
type gcProbeVariant struct {
	pid  int
	objs bpf.LeakscopeObjects
	l    link.Link
}

func (g *gcProbeVariant) on(b *testing.B) {
	hooks := resolveHooks(b, g.pid)
	loadWithTarget(b, &g.objs, g.pid)
	exe, err := link.OpenExecutable(fmt.Sprintf("/proc/%d/exe", g.pid))
	if err != nil {
		b.Fatal(err)
	}
	h := hooks.GCMarkTermination
	if g.l, err = exe.Uprobe(h.Name, g.objs.GcMarkTermination, &link.UprobeOptions{Address: h.FileOffset, PID: g.pid}); err != nil {
		b.Fatalf("attaching to %s: %v", h.Name, err)
	}
}

func (g *gcProbeVariant) off(b *testing.B) {
	var t bpf.LeakscopeTarget
	err := g.objs.Targets.Lookup(uint32(g.pid), &t)
	g.l.Close()
	g.objs.Close()
	if err != nil || t.GcCycles == 0 {
		b.Fatalf("the GC-tick probe counted %d GC cycles (%v), want some", t.GcCycles, err)
	}
}

// pprofVariant has the target profile itself: heap sampling on, and a GET
// of its own /debug/pprof/heap 1 s after and then every 10 s.
type pprofVariant struct{ fx *fixture }

func (p pprofVariant) on(b *testing.B)  { p.fx.ask(b, "pprof on", "pprof", 10*time.Second) }
func (p pprofVariant) off(b *testing.B) { p.fx.ask(b, "pprof off", "pprof", 10*time.Second) }

// cliVariant runs the leakscope command on the fixture.
type cliVariant struct {
	bin string
	pid int
	mpr tracer.ProfileRate
	cpu string // if set, leakscope runs pinned to this CPU (taskset -c)

	out  string   // --out directory
	args []string // more flags
	// settle, if set, is how long on waits after attaching for the
	// overhead budget to raise the rate (it returns as soon as it has):
	// the windows then measure the budget's steady state.
	settle time.Duration

	cmd                *exec.Cmd
	stdout, stderr     bytes.Buffer
	done               chan struct{}
	attachCPU, exitCPU int64     // leakscope's CPU time when attached, at exit
	attached, stopped  time.Time // when sampling was seen on; SIGINT
	report             cliTarget // this target in leakscope's final suspects.json
}

// cliTarget is the part of suspects.json the benchmark checks.
type cliTarget struct {
	PID           int               `json:"pid"`
	GCCycles      uint64            `json:"gc_cycles"`
	SampledAllocs uint64            `json:"sampled_allocs"`
	SampledFrees  uint64            `json:"sampled_frees"`
	Lost          map[string]uint64 `json:"lost"`
	Events        map[string]uint64 `json:"events"`
	Cost          *cliCost          `json:"cost"`
}

// cliCost is the overhead budget's part of a target in suspects.json.
type cliCost struct {
	EffectiveRate     int64    `json:"effective_rate"`
	EstimatedOverhead *float64 `json:"estimated_overhead"`
	OwnCPU            *float64 `json:"leakscope_cpu"`
	BudgetActive      bool     `json:"budget_active"`
	Limit1m           *float64 `json:"detection_limit_1m_bytes_per_second"`
	Limit5m           *float64 `json:"detection_limit_5m_bytes_per_second"`
}

func (c *cliVariant) on(b *testing.B) {
	args := append([]string{"--pid", strconv.Itoa(c.pid), "--interval", cliInterval, "--out", c.out}, c.args...)
	if c.cpu != "" {
		// taskset execs leakscope: the PID stays leakscope's.
		args = append([]string{"-c", c.cpu, c.bin}, args...)
		c.cmd = exec.Command("taskset", args...)
	} else {
		c.cmd = exec.Command(c.bin, args...)
	}
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		b.Fatalf("starting leakscope: %v", err)
	}
	c.done = make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	// leakscope attaches its probes first, then turns sampling on: once
	// the rate reads 512 KiB it is fully attached.
	deadline := time.Now().Add(time.Minute)
	for {
		if v, err := c.mpr.Read(); err == nil && v == sampleRate {
			break
		}
		select {
		case <-c.done:
			b.Fatalf("leakscope exited before attaching (%v):\n%s", c.cmd.ProcessState, c.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("leakscope did not switch sampling on within a minute:\n%s", c.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for end := time.Now().Add(c.settle); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if v, err := c.mpr.Read(); err == nil && v > sampleRate {
			break
		}
	}
	c.attachCPU = c.cpuNs(b)
	c.attached = time.Now()
}

func (c *cliVariant) off(b *testing.B) {
	c.stopped = time.Now()
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		b.Fatalf("stopping leakscope: %v", err)
	}
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		b.Fatalf("leakscope did not exit within a minute of SIGINT:\n%s", c.stderr.String())
	}
	if !c.cmd.ProcessState.Success() {
		b.Fatalf("leakscope: %v:\n%s", c.cmd.ProcessState, c.stderr.String())
	}
	if ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		c.exitCPU = ru.Utime.Nano() + ru.Stime.Nano()
	}
	// leakscope restores the rate it found (0) on a clean exit; the last
	// baseline window must run without sampling either way.
	switch v, err := c.mpr.Read(); {
	case err != nil:
		b.Fatal(err)
	case v == sampleRate || (c.settle > 0 && v > sampleRate):
		if _, err := c.mpr.Set(0); err != nil {
			b.Fatalf("resetting MemProfileRate after leakscope: %v", err)
		}
	case v != 0:
		b.Fatalf("MemProfileRate is %d after leakscope exited, want 0 or %d", v, sampleRate)
	}
	// leakscope must have seen what it watches, or there was nothing to
	// pay for.
	data, err := os.ReadFile(filepath.Join(c.out, "suspects.json"))
	if err != nil {
		b.Fatalf("leakscope's report: %v", err)
	}
	var doc struct{ Targets []cliTarget }
	if err := json.Unmarshal(data, &doc); err != nil {
		b.Fatalf("leakscope's suspects.json: %v", err)
	}
	for _, t := range doc.Targets {
		if t.PID == c.pid {
			c.report = t
		}
	}
	if c.report.SampledAllocs == 0 || c.report.SampledFrees == 0 || c.report.GCCycles == 0 {
		b.Fatalf("leakscope saw %d sampled allocations, %d frees, %d GC cycles of pid %d; want all > 0:\n%s", c.report.SampledAllocs, c.report.SampledFrees, c.report.GCCycles, c.pid, data)
	}
	for reason, n := range c.report.Lost {
		if n > 0 {
			b.Logf("leakscope lost %d events: %s", n, reason)
		}
	}
}

// cliStats is leakscope's CPU time and its BPF programs' run-time
// statistics at the start of the measured windows.
type cliStats struct {
	c     *cliVariant
	st    io.Closer
	cpu0  int64
	prog0 map[string]progStat
}

// beginStats turns the kernel's BPF run-time statistics on (they cost ~40
// ns per program run, see BenchmarkProbeHit, which stays in the ratio)
// and notes where leakscope's CPU and its programs' statistics stand.
func (c *cliVariant) beginStats(b *testing.B) *cliStats {
	b.Helper()
	st, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME)
	if err != nil {
		b.Fatalf("enabling BPF run-time statistics: %v", err)
	}
	b.Cleanup(func() { st.Close() })
	return &cliStats{c: c, st: st, cpu0: c.cpuNs(b), prog0: cliProgStats(b, c.cmd.Process.Pid)}
}

// end returns the CPU leakscope used since beginStats and its programs'
// statistics then and now, and turns the statistics off.
func (s *cliStats) end(b *testing.B) (cpuNs int64, before, after map[string]progStat) {
	b.Helper()
	cpuNs = s.c.cpuNs(b) - s.cpu0
	after = cliProgStats(b, s.c.cmd.Process.Pid)
	s.st.Close()
	return cpuNs, s.prog0, after
}

// costReport is the budget's part of the final report, for the budget
// variant only.
func (c *cliVariant) costReport() *cliCost {
	if c == nil || c.settle == 0 {
		return nil
	}
	return c.report.Cost
}

// kill ends leakscope by PID if it still runs (a failed benchmark).
func (c *cliVariant) kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// cpuNs is the CPU time leakscope used so far, in nanoseconds: the sum of
// its threads' run time from /proc/PID/task/*/schedstat.
func (c *cliVariant) cpuNs(b *testing.B) int64 {
	b.Helper()
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", c.cmd.Process.Pid))
	if err != nil || len(dirs) == 0 {
		b.Fatalf("reading leakscope's schedstat: %v", err)
	}
	var sum int64
	for _, p := range dirs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // a thread that just ended
		}
		f := strings.Fields(string(data))
		if len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			sum += v
		}
	}
	return sum
}
