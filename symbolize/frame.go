package symbolize

// Frame is one source-level frame of a call stack. Inlined calls expand to
// several frames for one PC, innermost first, like runtime.CallersFrames.
type Frame struct {
	PC       uint64 // the address in the target's address space
	Function string // "main.leak", or "libc.so.6+0x1a2b3" outside Go code
	File     string
	Line     int
	Inlined  bool // true when this frame was inlined into its caller
}
