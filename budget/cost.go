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
const amd64Source = "docs/BENCHMARKS.md, `make bench` of 2026-11-25 20:53 UTC (go1.26.8, 2-core VM), target at full speed: " +
	"go test -run '^$' -bench 'ProbeHit|TargetThroughput' -count 5 -benchtime 1x -timeout 60m ./bench/"

// amd64 is the measured cost per sample on amd64: the sum of the parts
// measured one by one. The same run's whole-leakscope figures (CPU per
// byte against sampling alone) put leakscope's part at 0.95 us per sample
// at full speed and 7.96 us CPU bound at 1 GB/s, against 2.40 us here:
// within the A/A noise of those ratios, so not used; a loaded host runs
// the programs slower (BPF statistics showed 6.4 us of BPF per sample on
// a 2-core host with load 6), which --bpf-stats makes the budget see.
func amd64() Cost {
	return Cost{
		// Heap sampling alone (MemProfileRate 512 KiB, no probes): bytes
		// per CPU-second 0.963 of unsampled at 19648 samples/s on 1.92
		// cores: (1/0.963 - 1) x 1.92 / 19648 = 3.75 us per sample.
		Runtime: 3750 * time.Nanosecond,
		// BenchmarkProbeHit at PUSHQ BP: 527 ns per trap, 2.01 hits per
		// sample (setprofilebucket and free_special).
		Traps: 1059 * time.Nanosecond,
		// BPF run-time statistics at full speed: setprofilebucket 548 ns
		// + free_special 784 ns x 0.997 + gc_mark_termination 552 ns x
		// 0.010 = 1345 ns per sample.
		BPF:    1345 * time.Nanosecond,
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
