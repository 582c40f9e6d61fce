// Package gobin is the one reader of a Go ELF executable: its image and
// segments (link-time address to file offset), build information and
// version, build ID, symbol table when present, and the Go function table
// (pclntab, rebased by runtime.firstmoduledata) with function lookup by
// name and by address, including the inline tree. On top of that it
// derives what leakscope needs from the binary's own code: the runtime
// hook points, the special-kind constants, and the addresses of runtime
// variables (runtime.MemProfileRate; see runtimeVar for adding others).
//
// A Cache opens each executable once, keyed by build ID or file identity,
// and shares the Binary between hook decoding, the tracer's attachment
// and symbolization (package symbolize, which maps a process's addresses
// onto it).
//
// Everything read from the binary is treated as untrusted: sizes are checked
// against the file before anything is allocated, the pclntab decoder checks
// every bound, and the standard library parsers (debug/elf,
// debug/buildinfo) run under recover, so a corrupt file yields an error,
// never a panic. Fuzz targets cover Open, the pclntab and the code decoders.
//
// Addresses in this package are link-time virtual addresses (what the ELF
// symbol table and pclntab say) unless a name says FileOffset. Uprobes in
// cilium/ebpf take file offsets; use Binary.FileOffset or Hook.FileOffset.
package gobin
