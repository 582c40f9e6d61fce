package symbolize

import "github.com/leakscope/leakscope/gobin"

// selectFrames filters the expansion of one PC the way
// runtime.(*Frames).Next does:
//   - a wrapper caller is hidden (runtime.Callers hides them);
//   - if next, the link-time value of the stack's next PC, is the
//     synthetic return address runtime.Callers emits for a caller in this
//     expansion (its call-site instruction + 1), the expansion stops before
//     that caller, which the next PC will report. Stack walks by frame
//     pointer (the kernel's) contain only real return addresses, which can
//     never equal such an address, so they get the full expansion.
//
// Unlike the runtime, the last PC of a stack is expanded too: a truncated
// stack should not lose the callers it still knows.
func selectFrames(b *gobin.Binary, chain []gobin.LogicalFrame, next uint64, hasNext bool) []gobin.LogicalFrame {
	if len(chain) == 0 {
		return nil
	}
	out := []gobin.LogicalFrame{chain[0]}
	cur := 0
	for {
		found := false
		for k := cur + 1; k < len(chain); k++ {
			if hasNext && next == chain[k].PC+1 {
				return out
			}
			if b.HidesWrapper(chain[k], chain[cur]) {
				continue
			}
			out = append(out, chain[k])
			cur, found = k, true
			break
		}
		if !found {
			return out
		}
	}
}

// toFrames gives every logical frame of one address the run-time address pc.
func toFrames(chain []gobin.LogicalFrame, pc uint64) []Frame {
	if len(chain) == 0 {
		return nil
	}
	frames := make([]Frame, len(chain))
	for i, lf := range chain {
		frames[i] = Frame{PC: pc, Function: lf.Function, File: lf.File, Line: lf.Line, Inlined: lf.Inlined}
	}
	return frames
}
