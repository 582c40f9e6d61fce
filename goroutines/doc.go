// Package goroutines reads a Go program's goroutines from outside the
// process, with no probe: it finds the runtime's list of every goroutine
// (runtime.allgs, runtime.allglen), reads the few fields of each runtime.g
// it needs with batched process_vm_readv, checks them, unwinds the stacks of
// waiting goroutines by frame pointers, and groups goroutines by the `go`
// statement that created them to tell a goroutine leak (a group whose old
// members keep accumulating) from pools, per-request goroutines and bursts.
//
// The runtime.g layout changes between Go releases: Layouts holds the field
// offsets per release and architecture, generated from the DWARF of a
// program built with each toolchain (go run ./goroutines/internal/genlayouts)
// and checked against the live process before any figure is trusted.
//
// The executable is reached only through the Executable interface
// (exe.go), so that the package does not depend on which binary reader
// provides symbols, code and the function table.
//
// A million goroutines are read every interval in a fraction of a second
// and a few hundred bytes each: g structs side by side are read as one run
// (runs.go), a stack is read again only when its goroutine has run
// (known.go), goids are indexed in tables that keep neighbours together
// (goidindex.go), and one snapshot's memory is reused by the next.
//
// Everything read from the target is untrusted and races with the running
// program: what does not validate is dropped and counted, never a panic.
package goroutines
