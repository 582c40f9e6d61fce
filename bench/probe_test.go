package bench

import (
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/leakscope/leakscope/bpf"
	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/internal/testutil"
)

// Round lengths of BenchmarkProbeHit. The fixture times its own loop, so
// attaching and detaching between rounds is not counted.
const (
	probeRoundNone  = 200 * time.Millisecond
	probeRoundProbe = 300 * time.Millisecond
)

// BenchmarkProbeHit measures one uprobe hit on a Go function (main.hit of
// testdata/bench/probecost, called in a tight loop) running leakscope's
// gc_mark_termination program, which does what every leakscope hook does
// first: a lookup in the targets map, then an atomic add and a per-CPU
// counter.
//
//   - none: no probe; the cost of the call itself.
//   - entry: the probe on the function's first instruction (the stack-bound
//     check CMPQ SP, 0x10(R14), which the kernel single-steps out of line).
//   - prologue: the probe on PUSHQ BP, found by gobin.Binary.Hook exactly as
//     leakscope finds its runtime hooks.
//
// One invocation interleaves its rounds: none, V with BPF statistics, V
// without, V without, V with, none. ns/hit comes from the rounds without
// statistics; bpf-ns/hit (the program's own run time) from the rounds with
// them; trap-ns/hit is the rest of the overhead over no probe.
func BenchmarkProbeHit(b *testing.B) {
	for _, v := range []string{"none", "entry", "prologue"} {
		b.Run(v, func(b *testing.B) { probeHit(b, v) })
	}
}

type probeRound struct {
	calls, ns    int64
	runs, bpfNs  uint64 // BPF program runs and run time, when stats were on
	stats, probe bool
}

func (r probeRound) nsPerCall() float64 { return float64(r.ns) / float64(r.calls) }

func probeHit(b *testing.B, variant string) {
	testutil.RequireBPF(b)
	if runtime.GOARCH != "amd64" {
		b.Skip("the probe-cost fixture's prologue is decoded for amd64 only")
	}
	bin := build(b, "probecost", "./testdata/bench/probecost")
	fx := startFixture(b, bin)

	entry, prologue := probeSites(b, fx.pid)

	var objs bpf.LeakscopeObjects
	loadWithTarget(b, &objs, fx.pid)
	b.Cleanup(func() { objs.Close() })
	exe, err := link.OpenExecutable(fmt.Sprintf("/proc/%d/exe", fx.pid))
	if err != nil {
		b.Fatal(err)
	}
	prog := objs.GcMarkTermination

	var offset uint64
	switch variant {
	case "entry":
		offset = entry
	case "prologue":
		offset = prologue
	}

	round := func(probe, stats bool, d time.Duration) probeRound {
		r := probeRound{probe: probe, stats: stats}
		if probe {
			l, err := exe.Uprobe("main.hit", prog, &link.UprobeOptions{Address: offset, PID: fx.pid})
			if err != nil {
				b.Fatalf("attaching uprobe at file offset %#x: %v", offset, err)
			}
			defer l.Close()
		}
		var st io.Closer
		if stats {
			c, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME)
			if err != nil {
				b.Fatalf("enabling BPF run-time statistics: %v", err)
			}
			st = c
		}
		s0 := progStats(b, prog)
		ans := fx.ask(b, fmt.Sprintf("run %d", d.Milliseconds()), "ran", 2*time.Minute)
		s1 := progStats(b, prog)
		if st != nil {
			st.Close()
		}
		r.calls, r.ns = ans[0], ans[1]
		r.runs = s1.RunCount - s0.RunCount
		r.bpfNs = uint64(s1.Runtime - s0.Runtime)
		switch {
		case stats && r.runs < uint64(r.calls):
			b.Fatalf("probe at %#x fired %d times for %d calls: hits were missed", offset, r.runs, r.calls)
		case stats && variant == "prologue" && r.runs != uint64(r.calls):
			// Only the entry instruction runs again when morestack
			// re-enters the function (stack growth or preemption).
			b.Fatalf("probe at PUSHQ BP fired %d times for %d calls; want exactly one hit per call", r.runs, r.calls)
		}
		return r
	}

	var rounds []probeRound
	if variant == "none" {
		rounds = append(rounds, round(false, false, probeRoundNone), round(false, false, probeRoundNone))
	} else {
		rounds = append(rounds,
			round(false, false, probeRoundNone),
			round(true, true, probeRoundProbe),
			round(true, false, probeRoundProbe),
			round(true, false, probeRoundProbe),
			round(true, true, probeRoundProbe),
			round(false, false, probeRoundNone))
	}

	var none, plain, withStats []probeRound
	for _, r := range rounds {
		switch {
		case !r.probe:
			none = append(none, r)
		case r.stats:
			withStats = append(withStats, r)
		default:
			plain = append(plain, r)
		}
	}
	noneNs := perCall(none)
	b.ReportMetric(0, "ns/op")
	if variant == "none" {
		b.ReportMetric(noneNs, "ns/hit")
		return
	}
	hitNs := perCall(plain)
	var runs, calls, bpfNs uint64
	for _, r := range withStats {
		runs += r.runs
		calls += uint64(r.calls)
		bpfNs += r.bpfNs
	}
	hitsPerCall := float64(runs) / float64(calls)
	overhead := (hitNs - noneNs) / hitsPerCall
	bpfPerHit := float64(bpfNs) / float64(runs)
	b.ReportMetric(hitNs, "ns/hit")
	b.ReportMetric(noneNs, "none-ns/hit")
	b.ReportMetric(hitNs/noneNs, "ratio-vs-none")
	b.ReportMetric(overhead, "overhead-ns/hit")
	b.ReportMetric(bpfPerHit, "bpf-ns/hit")
	b.ReportMetric(overhead-bpfPerHit, "trap-ns/hit")
	b.ReportMetric((perCall(withStats)-hitNs)/hitsPerCall, "statsacct-ns/hit")
	// Printed with 4 significant digits, hits/call would hide the extra
	// hits: report them per million calls.
	b.ReportMetric(float64(runs-calls)/float64(calls)*1e6, "extra-hits/Mcalls")
}

// perCall is the time per call over all rounds together.
func perCall(rs []probeRound) float64 {
	var calls, ns int64
	for _, r := range rs {
		calls += r.calls
		ns += r.ns
	}
	return float64(ns) / float64(calls)
}

// loadWithTarget loads leakscope's BPF objects into objs and registers pid
// as a target, as tracer.Attach does: the programs then take their full
// path for it (lookup hit, atomic add, counter).
func loadWithTarget(b *testing.B, objs *bpf.LeakscopeObjects, pid int) {
	b.Helper()
	if err := rlimit.RemoveMemlock(); err != nil {
		b.Fatal(err)
	}
	if err := bpf.LoadLeakscopeObjects(objs, nil); err != nil {
		b.Fatalf("loading leakscope's BPF objects: %v", err)
	}
	if err := objs.Targets.Update(uint32(pid), &bpf.LeakscopeTarget{}, ebpf.UpdateNoExist); err != nil {
		b.Fatal(err)
	}
	if err := objs.Counters.Update(uint32(pid), make([]bpf.LeakscopeCounts, ebpf.MustPossibleCPU()), ebpf.UpdateAny); err != nil {
		b.Fatal(err)
	}
}

func progStats(b *testing.B, p *ebpf.Program) *ebpf.ProgramStats {
	b.Helper()
	s, err := p.Stats()
	if err != nil {
		b.Fatalf("reading BPF program statistics: %v", err)
	}
	return s
}

// probeSites returns the file offsets of main.hit's entry and of its
// PUSHQ BP in the fixture running as pid.
func probeSites(b *testing.B, pid int) (entry, prologue uint64) {
	b.Helper()
	bin, err := gobin.Open(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer bin.Close()

	h, err := bin.Hook("main.hit")
	if err != nil {
		b.Fatal(err)
	}
	fn := h.Func
	if h.AttachAddr == fn.Entry {
		b.Fatalf("main.hit's probe site is its entry (%s): it has no stack check, so entry and prologue would be the same instruction", h.Why)
	}
	if entry, err = bin.FileOffset(fn.Entry); err != nil {
		b.Fatal(err)
	}
	return entry, h.FileOffset
}
