// Package budget bounds what watching costs each target: the CPU that
// sampled allocations cost it (the runtime's own sampling work, the probe
// traps and the BPF programs, per sample, from a per-architecture table
// of measured figures, the BPF part replaced by the kernel's live figures
// when its BPF statistics are on), and a Controller that raises one
// target's MemProfileRate when that cost passes the budget and lowers it
// again, down to the configured rate, when the target calms down.
//
// It only decides: reading the sample counts and writing the rate are the
// monitor's.
package budget
