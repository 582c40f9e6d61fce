package budget

import (
	"runtime"
	"time"
)

// Cost is what one sampled allocation costs the target, by part.
type Cost struct {
	// Runtime is the runtime's own work per sample (stack walk, profile
	// bucket, the special record): paid only because sampling is on, so
	// counted only where leakscope turned sampling on.
	Runtime time.Duration
	// Traps is the uprobe traps per sample (about two hits: the sample
	// and its free).
	Traps time.Duration
	// BPF is the BPF programs' run time per sample.
	BPF time.Duration
	// Source says where the figures come from.
	Source string
}

// PerSample is the cost of one sample; withRuntime counts the runtime's
// own sampling work too.
func (c Cost) PerSample(withRuntime bool) time.Duration {
	d := c.Traps + c.BPF
	if withRuntime {
		d += c.Runtime
	}
	return d
}

// amd64Source is the run the amd64 figures come from.
const amd64Source = "BenchmarkSampleCost of 2026-12-05 21:50 UTC (go1.26.8, 2-core VM, loaded host; raw output bench/out-samplecost-2026-12-05.txt), " +
	"target under the default budget at 130-250 samples/s: make bench-sample-cost"

// amd64 is the measured cost per sample on amd64 where the budget works:
// once it has raised the rate, samples come a few hundred a second, and
// each one finds the runtime's stack walk and profile buckets, the
// kernel's uprobe and BPF code and the BPF maps' buckets out of the
// caches (and TLBs). BenchmarkSampleCost profiles the target there (CPU
// shares, which host load does not skew): medians of 10 runs (full speed
// and CPU bound at ~1 GB/s, 133-251 samples/s), 22.8 us in all per run
// (16.4-29.3). The figures measured at 512 KiB and ~20,000 samples/s in
// `make bench` of 2026-11-25 (runtime 3.75 us from the throughput of
// sampling alone, traps 1.06 us from BenchmarkProbeHit, BPF 1.35 us from
// the BPF statistics: 6.15 us) hold only for such a dense stream of
// samples; the budget, holding the rate down, never runs there, and with
// them the estimate was a third or less of what the target paid. The
// cost per sample grows as samples get sparser (9-20 us at 380-610
// samples/s in earlier runs of the same benchmark): the raise's aim at
// half the budget covers the spread. At thousands of samples per second
// the estimate is up to three times too high, so the budget raises such
// a target a power of two or so sooner than it must.
func amd64() Cost {
	return Cost{
		// runtime.profilealloc and runtime.freeSpecial with their callees,
		// mProf_Flush and mProf_PostSweep, less the traps inside them
		// (6.4-10.7 us).
		Runtime: 8600 * time.Nanosecond,
		// asm_exc_int3 and what it calls, less the BPF programs: about
		// two traps per sample (setprofilebucket and freeSpecial, plus
		// gcMarkTermination's share) (3.6-12.3 us).
		Traps: 7900 * time.Nanosecond,
		// The BPF programs with their map work (the live map's bucket
		// walk, lookup_nulls_elem_raw, is the largest part) (5.1-10.2 us;
		// the kernel's BPF statistics gave 5.0-5.3 us per sample at the
		// budget's 16 MiB in BenchmarkTargetThroughput).
		BPF:    6000 * time.Nanosecond,
		Source: amd64Source,
	}
}

// ForArch returns the cost per sample on arch (a GOARCH). Only amd64 is
// measured; other architectures get its figures, and Source says so.
func ForArch(arch string) Cost {
	c := amd64()
	if arch != "amd64" {
		c.Source = "not measured on " + arch + ": amd64's figures stand in (" + c.Source + ")"
	}
	return c
}

// Native is the cost per sample on the architecture leakscope runs on
// (its targets run there too).
func Native() Cost { return ForArch(runtime.GOARCH) }

// WithLiveBPF returns c with the BPF part measured live: the programs'
// run time over the samples they handled (kernel BPF statistics, all
// targets together). Fewer than minLiveSamples samples keep the table's
// figure, too few to replace it.
func (c Cost) WithLiveBPF(runTime time.Duration, samples uint64) Cost {
	if samples < minLiveSamples || runTime <= 0 {
		return c
	}
	c.BPF = runTime / time.Duration(samples)
	c.Source = "BPF part live from the kernel's BPF statistics; runtime and traps from " + c.Source
	return c
}

const minLiveSamples = 100
