package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/leakscope/leakscope/internal/testutil"
)

// sampleCostWindow is how long the target is profiled: long enough for a
// few thousand sampled allocations at the rate the budget sets.
const sampleCostWindow = 20 * time.Second

// BenchmarkSampleCost measures what one sampled allocation costs the
// target where the overhead budget runs it: the target under the real
// leakscope command with the default budget, once the budget has raised
// the rate (a few hundred samples per second), profiled by `perf record -g
// -e cpu-clock` (a software clock: no hardware counters needed). The
// target's CPU time is split by call graph into
//
//   - runtime: the runtime's own sampling work (runtime.profilealloc and
//     runtime.freeSpecial with their callees: stack walk, profile bucket,
//     special record; runtime.mProf_Flush and mProf_PostSweep at each GC),
//     less the probe traps inside them;
//   - traps: the uprobe traps (asm_exc_int3 and everything under it) less
//     the BPF programs;
//   - bpf: leakscope's BPF programs (bpf_prog_*, with their map work),
//
// each divided by the samples (setprofilebucket runs) in the window, from
// the kernel's BPF statistics. Shares of CPU time, not throughput, so the
// figures do not depend on how much CPU other work on the host leaves the
// target; they are statistical (about 1,000 profile samples per second of
// CPU, of which ~1% fall in these parts).
//
// It needs perf (Debian: linux-perf) and skips without it.
func BenchmarkSampleCost(b *testing.B) {
	for _, load := range loads {
		if load.name != "max" && load.name != "1GBps-busy" {
			continue // the throttled loads sample too little to profile
		}
		b.Run(load.name, func(b *testing.B) { sampleCost(b, load.busyRate) })
	}
}

func sampleCost(b *testing.B, busyRate int64) {
	testutil.RequireBPF(b)
	perf, err := exec.LookPath("perf")
	if err != nil {
		b.Skip("perf is not installed (Debian: apt-get install linux-perf): it profiles the target")
	}
	bin := build(b, "allocs", "./testdata/bench/allocs")
	cli := build(b, "leakscope", "./cmd/leakscope")
	fx := startFixture(b, bin, "-workers", "4")
	mpr := profileRate(b, fx.pid)
	measure := func(d time.Duration) allocWindow {
		a := fx.ask(b, fmt.Sprintf("measure %d", d.Milliseconds()), "measured", d+time.Minute)
		return allocWindow{bytes: a[0], ns: a[1], cpuNs: a[2], gcs: a[3]}
	}
	measure(warmup)
	if busyRate > 0 {
		calibrateWork(b, fx, measure, busyRate)
		measure(warmup)
	}

	ls := &cliVariant{bin: cli, pid: fx.pid, mpr: mpr, out: b.TempDir(),
		args: []string{"--interval=2s", "--listen="}, settle: budgetSettle}
	b.Cleanup(ls.kill)
	ls.on(b)
	st, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME)
	if err != nil {
		b.Fatalf("enabling BPF run-time statistics: %v", err)
	}
	defer st.Close()
	data := filepath.Join(b.TempDir(), "perf.data")
	rec := exec.Command(perf, "record", "-q", "-g", "-e", "cpu-clock", "-F", "997", "-p", strconv.Itoa(fx.pid), "-o", data)
	var recErr bytes.Buffer
	rec.Stderr = &recErr
	prog0, cli0 := cliProgStats(b, ls.cmd.Process.Pid), ls.cpuNs(b)
	if err := rec.Start(); err != nil {
		b.Fatalf("starting perf record: %v", err)
	}
	w := measure(sampleCostWindow)
	prog1, cli1 := cliProgStats(b, ls.cmd.Process.Pid), ls.cpuNs(b)
	_ = rec.Process.Signal(os.Interrupt)
	// perf record ends on SIGINT, with that signal as its status.
	if err := rec.Wait(); err != nil && !strings.Contains(err.Error(), "interrupt") {
		b.Fatalf("perf record: %v: %s", err, recErr.String())
	}
	ls.off(b)

	shares := perfShares(b, perf, data)
	samples := float64(prog1["setprofilebucket"].runs - prog0["setprofilebucket"].runs)
	gcs := float64(prog1["gc_mark_termination"].runs - prog0["gc_mark_termination"].runs)
	if samples < 100 {
		b.Fatalf("only %.0f sampled allocations in %v: too few to divide by", samples, sampleCostWindow)
	}
	var bpfShare, gcBPFShare float64
	for sym, s := range shares {
		if strings.HasPrefix(sym, "bpf_prog_") {
			bpfShare += s
			if strings.HasSuffix(sym, "_gc_mark_termination") {
				gcBPFShare += s
			}
		}
	}
	traps := shares["asm_exc_int3"] - bpfShare
	runtimeShare := shares["runtime.profilealloc"] + shares["runtime.freeSpecial"] - shares["asm_exc_int3"] +
		shares["runtime.mProf_Flush"] + shares["runtime.mProf_PostSweep"]
	usPerSample := func(share float64) float64 { return share * float64(w.cpuNs) / samples / 1e3 }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(usPerSample(runtimeShare), "runtime-us/sample")
	b.ReportMetric(usPerSample(traps), "traps-us/sample")
	b.ReportMetric(usPerSample(bpfShare), "bpf-us/sample")
	b.ReportMetric(usPerSample(runtimeShare+traps+bpfShare), "total-us/sample")
	if gcs > 0 {
		b.ReportMetric(gcBPFShare*float64(w.cpuNs)/gcs/1e3, "gc-bpf-us/gc")
	}
	b.ReportMetric(samples/(float64(w.ns)/1e9), "samples/s")
	b.ReportMetric(100*(runtimeShare+traps+bpfShare)*w.cores(), "measured-overhead-%core")
	b.ReportMetric(100*float64(cli1-cli0)/float64(w.ns), "leakscope-%core")
	b.ReportMetric(w.cores(), "cores")
	if c := ls.costReport(); c != nil {
		b.ReportMetric(float64(c.EffectiveRate), "rate-bytes")
		if c.EstimatedOverhead != nil {
			b.ReportMetric(100**c.EstimatedOverhead, "est-overhead-%core")
			if c.OwnCPU != nil {
				// The part to compare with measured-overhead-%core.
				b.ReportMetric(100*(*c.EstimatedOverhead-*c.OwnCPU), "est-sampling-%core")
			}
		}
	}
}

// perfShares returns each symbol's share of the CPU samples in data, its
// callees included: the samples whose call chain holds the symbol, over
// all samples (counted from perf script, exact where perf report rounds
// to 0.01%).
func perfShares(b *testing.B, perf, data string) map[string]float64 {
	b.Helper()
	out, err := exec.Command(perf, "script", "-i", data, "-F", "ip,sym").Output()
	if err != nil {
		b.Fatalf("perf script: %v", err)
	}
	counts := map[string]int{}
	total := 0
	inSample := map[string]bool{}
	flush := func() {
		if len(inSample) == 0 {
			return
		}
		total++
		for sym := range inSample {
			counts[sym]++
		}
		clear(inSample)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		// One sample is its call chain, one "ADDR SYMBOL" line a frame,
		// then a blank line.
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			flush()
			continue
		}
		inSample[strings.Join(f[1:], " ")] = true
	}
	flush()
	if total == 0 {
		b.Fatalf("perf script gave no samples:\n%.2000s", out)
	}
	shares := make(map[string]float64, len(counts))
	for sym, n := range counts {
		shares[sym] = float64(n) / float64(total)
	}
	return shares
}
