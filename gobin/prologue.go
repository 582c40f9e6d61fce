package gobin

import "fmt"

// maxPrologueInsns bounds how far the decoders look for the frame setup: a
// Go prologue is at most ~8 instructions, so more means the code is not
// what we think it is.
const maxPrologueInsns = 16

// attachPoint is where a hook's uprobe goes, as an offset from the function
// entry, and why that instruction was chosen.
type attachPoint struct {
	off uint64
	why string
}

// findAttachPoint decodes the prologue of a function whose code starts at
// link-time address pc and returns the probe point after it.
//
// Probing the first instruction is avoided: it is the stack-bound check,
// which the kernel must single-step out of line (~10x slower than an
// emulated PUSH), and which also runs again when morestack re-enters the
// function, so one call could be seen twice.
func findAttachPoint(arch string, code []byte, pc uint64) (attachPoint, error) {
	switch arch {
	case "amd64":
		return attachPointX86(code, pc)
	case "arm64":
		return attachPointA64(code, pc)
	}
	return attachPoint{}, fmt.Errorf("%w: %q", ErrUnsupportedArch, arch)
}
