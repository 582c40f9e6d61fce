// Package gobin inspects a Go ELF binary: its functions, Go version, and the
// runtime hook points and constants leakscope needs, derived by decoding the
// binary's own code.
//
// Everything read from the binary is treated as untrusted: sizes are checked
// against the file before anything is allocated, and the standard library
// parsers (debug/elf, debug/gosym, debug/buildinfo) run under recover, so a
// corrupt file yields an error, never a panic.
//
// Addresses in this package are link-time virtual addresses (what the ELF
// symbol table and pclntab say) unless a name says FileOffset. Uprobes in
// cilium/ebpf take file offsets; use Binary.FileOffset or Hook.FileOffset.
package gobin
