// Package bench measures what leakscope costs the programs it watches. It
// holds only Go benchmarks (run by `make bench`, not by `make test`, since a
// full run takes minutes) and bench/cmd/render, which turns their output
// into docs/BENCHMARKS.md.
//
// Every claim is a ratio against a baseline measured in the same benchmark
// invocation, with the rounds interleaved baseline, variant, variant,
// baseline so that a drift in machine speed (other work on the host,
// frequency changes) weighs on both sides equally. Each benchmark is run
// several times (-count) and the renderer reports medians and ranges.
//
//   - BenchmarkProbeHit: the cost of one uprobe hit on a Go function, with
//     the probe on the function's entry instruction or on the PUSHQ BP of
//     its prologue (where leakscope attaches), split into trap and BPF
//     program time with the kernel's BPF run-time statistics.
//   - BenchmarkTargetThroughput: the allocation throughput, CPU per byte and
//     GC stop-the-world pauses of a busy target at full speed, 1 GB/s and
//     100 MB/s, with no monitor, with heap sampling switched on
//     (MemProfileRate 512 KiB, no probes), watched by the real leakscope
//     command (default mode and --mode=all-allocs), and polling its own
//     /debug/pprof/heap every 10 s; with the BPF run time per sampled
//     allocation of each leakscope program.
//   - BenchmarkBusyPaired: the CPU-bound load's loss under the default
//     overhead budget, measured free of the VM's drift: two copies of the
//     target pinned to the two cores, one watched (leakscope pinned beside
//     it) and one measured at the same time as its reference.
//   - BenchmarkWatchCost: leakscope's own CPU and peak RSS watching 1, 10
//     and 50 light targets for two minutes.
//   - BenchmarkSampleCost: what one sampled allocation costs the target
//     where the overhead budget runs it (a few hundred samples per second,
//     caches cold), split into the runtime's sampling work, the probe
//     traps and the BPF programs by `perf record -g -e cpu-clock` on the
//     target: shares of its CPU time, which other load on the host does
//     not skew as it skews throughput ratios. It is the source of package
//     budget's cost table; it needs perf and skips without it.
//
// BenchmarkSnapshot (package tracer, which owns the maps) times a snapshot
// of 100K and 1M live objects.
//
// The benchmarks need root (BPF, uprobes, /proc/PID/mem); otherwise they
// skip, or fail when LEAKSCOPE_REQUIRE_BPF=1. They only touch processes they
// start themselves, and end them by PID.
package bench
