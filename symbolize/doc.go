// Package symbolize turns addresses in a target process into source-level frames, from the target's own binary.
//
// The executable itself is read by package gobin (its pclntab and inline
// tree, decoded so that one machine address expands to every logical
// frame inlined there, exactly as runtime.CallersFrames reports them).
// This package adds the process: Process reads /proc/PID/maps, maps
// run-time addresses back to link-time ones (PIE load bias, LoadBias),
// applies the runtime's frame selection (hidden wrappers, runtime.Callers'
// synthetic inline PCs), and names addresses outside Go code by mapping
// and file offset.
//
// Everything read from files and /proc is treated as untrusted: malformed
// input yields errors or "?" frames, never panics or unbounded allocations.
package symbolize
