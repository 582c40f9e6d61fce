// Package symbolize turns addresses in a target process into source-level frames, from the target's own binary.
//
// Go binaries carry their own symbol table, the pclntab (the .gopclntab
// section), which survives stripping (-ldflags="-s -w") because the runtime
// needs it for tracebacks. This package decodes it directly, including the
// inline tree, so one machine address expands to every logical frame that
// was inlined there, exactly as runtime.CallersFrames reports them.
//
// The pieces are:
//   - Binary: the symbol table of one Go ELF file, queried by link-time
//     address (Frames, FramesForReturnAddress).
//   - Cache: Binaries shared by build ID, so many processes of one program
//     parse it once.
//   - Process: the address space of one PID (/proc/PID/maps), which maps
//     run-time addresses back to link-time ones (PIE load bias) and names
//     addresses outside Go code by mapping and file offset.
//
// Everything read from files and /proc is treated as untrusted: malformed
// input yields errors or "?" frames, never panics or unbounded allocations.
package symbolize
