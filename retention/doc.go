// Package retention finds who keeps a leaked object alive, from outside
// the process and without stopping it: it reads the Go heap's arenas and
// spans (runtime.mheap_), indexes the allocated slots of the in-use spans
// that hold pointers, and searches backwards from a few sampled leaked
// objects through heap objects to a root: a global variable in the data
// or bss segment, or a frame of a goroutine's stack.
//
// The mheap, heapArena and mspan layouts change between Go releases:
// heapLayouts holds the offsets per release and architecture, generated
// from the DWARF of reference builds (go run ./retention/internal/genlayouts),
// and the address of mheap_.arenas found in the binary's code must agree
// with the symbol table (when there is one) and with a live read before
// anything is trusted.
//
// Heap holders are named by the type the runtime records for them (Go
// 1.22+, objtype.go), map internals collapsed into one map[K]V hop
// (mapcollapse.go), else by a sampled allocation site, else by size.
//
// Everything read from the target is untrusted and races with the running
// program: what does not validate is dropped and counted, never a panic.
package retention
