package symbolize

// specialIDs are the abi.FuncID values that decide which inlined wrapper
// frames the runtime hides. Their numbers change between releases (new IDs
// are inserted in alphabetical order), so they are read from the binary
// itself: runtime.gopanic, runtime.sigpanic and runtime.panicwrap carry
// their own IDs, and FuncIDWrapper has been sigpanic+3 (after systemstack
// and systemstack_switch, the list's end) in every release from go1.18 to
// go1.26.
type specialIDs struct {
	known                                 bool
	wrapper, gopanic, sigpanic, panicwrap uint8
}

func findSpecialIDs(t *pclntab) specialIDs {
	var ids specialIDs
	found := 0
	for i := 0; i < t.nfunc && found < 3; i++ {
		_, off := t.ftabEntry(i)
		f, ok := t.decodeFunc(uint64(off))
		if !ok || f.funcID == 0 {
			continue
		}
		switch t.funcName(f.nameOff) {
		case "runtime.gopanic":
			ids.gopanic = f.funcID
			found++
		case "runtime.sigpanic":
			ids.sigpanic = f.funcID
			found++
		case "runtime.panicwrap":
			ids.panicwrap = f.funcID
			found++
		}
	}
	ids.known = found == 3
	ids.wrapper = ids.sigpanic + 3
	return ids
}

// elideWrapperCalling reports whether a wrapper that called a function of
// this ID is hidden, like runtime.elideWrapperCalling: it is shown only when
// it panicked instead of calling the wrapped function.
func (ids specialIDs) elideWrapperCalling(callee uint8) bool {
	return !(callee == ids.gopanic || callee == ids.sigpanic || callee == ids.panicwrap)
}

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
func (b *Binary) selectFrames(chain []logicalFrame, next uint64, hasNext bool) []logicalFrame {
	if len(chain) == 0 {
		return nil
	}
	out := []logicalFrame{chain[0]}
	cur := 0
	for {
		found := false
		for k := cur + 1; k < len(chain); k++ {
			if hasNext && next == chain[k].pc+1 {
				return out
			}
			if b.ids.known && chain[k].funcID == b.ids.wrapper &&
				b.ids.elideWrapperCalling(chain[cur].funcID) {
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
