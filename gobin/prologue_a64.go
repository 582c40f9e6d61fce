package gobin

import "fmt"

// attachPointA64 accepts the prologues the Go compiler emits on arm64:
//
//	stack check (absent in nosplit functions):
//	  MOVD 16(R28), R16
//	  [SUB $N, RSP, R17 | SUBS ..., R17; BLO more]   (frames > StackSmall / StackBig)
//	  CMP R16, RSP (or CMP R16, R17); BLS more
//	frame setup, one of:
//	  MOVD.W R30, -N(RSP); MOVD R29, -8(RSP)
//	  SUB $N, RSP, R20; STP (R29, R30), -8(R20); MOVD R20, RSP   (large frames)
//	  then SUB $8, RSP, R29
//
// The probe goes on the instruction after SUB $8, RSP, R29: from there the
// frame-pointer chain includes this frame, so the caller is not lost, and
// the stack check has already passed. No prologue instruction is emulated
// by the arm64 uprobe code (only branches and literal loads are), so
// nothing cheaper is lost by skipping it.
func attachPointA64(code []byte, pc uint64) (attachPoint, error) {
	const (
		start = iota
		check
		checkBranch
		frame
		smallFrameFP
		largeFrameSP
		setFP
	)
	state := start
	for i := 0; i < maxPrologueInsns; i++ {
		off := 4 * i
		w, ok := a64Word(code, off)
		if !ok {
			return attachPoint{}, fmt.Errorf("code ends at +%#x before the frame setup", off)
		}
		in, err := decodeA64(code[off:])
		if err != nil {
			return attachPoint{}, fmt.Errorf("cannot decode instruction %#08x at +%#x: %w", w, off, err)
		}
		unexpected := func(want string) error {
			return fmt.Errorf("unexpected %q at +%#x: want %s", a64Text(code, off, pc), off, want)
		}
		if state == start {
			if rt, rn, o, ok := a64LoadX(w); ok && rt == a64Stk1 && rn == a64G && o == stackGuardOff {
				state = check
				continue
			}
			state = frame // nosplit
		}
		switch state {
		case check:
			if writesScratch(w, in, a64Stk2, a64Tmp) {
				continue
			}
			if cond, ok := a64BranchCond(w); ok && cond == a64CondLO {
				continue
			}
			if sub, flags, rd, rn, rm, ok := a64AddSubReg(w); ok && sub && flags && rd == a64ZR && (rn == a64Stk1 || rm == a64Stk1) {
				state = checkBranch
				continue
			}
			return attachPoint{}, unexpected("the stack-bound CMP against R16")
		case checkBranch:
			if cond, ok := a64BranchCond(w); ok && cond == a64CondLS {
				state = frame
				continue
			}
			return attachPoint{}, unexpected("BLS to morestack")
		case frame:
			if rt, rn, _, ok := a64StoreXPre(w); ok && rt == a64LR && rn == a64SP {
				state = smallFrameFP
				continue
			}
			if writesScratch(w, in, a64Frame, a64Tmp) {
				continue
			}
			if rt, rt2, rn, o, ok := a64StorePairX(w); ok && rt == a64FP && rt2 == a64LR && rn == a64Frame && o == -8 {
				state = largeFrameSP
				continue
			}
			return attachPoint{}, unexpected("MOVD.W R30, -N(RSP) or STP (R29, R30), -8(R20) (frame setup)")
		case smallFrameFP:
			if rt, rn, o, ok := a64StoreXUnscaled(w); ok && rt == a64FP && rn == a64SP && o == -8 {
				state = setFP
				continue
			}
			return attachPoint{}, unexpected("MOVD R29, -8(RSP)")
		case largeFrameSP:
			if sub, flags, rd, rn, imm, ok := a64AddSubImm(w); ok && !sub && !flags && rd == a64SP && rn == a64Frame && imm == 0 {
				state = setFP
				continue
			}
			return attachPoint{}, unexpected("MOVD R20, RSP")
		case setFP:
			if sub, flags, rd, rn, imm, ok := a64AddSubImm(w); ok && sub && !flags && rd == a64FP && rn == a64SP && imm == 8 {
				next := uint64(off + 4)
				if _, err := decodeA64(code[off+4:]); err != nil {
					return attachPoint{}, fmt.Errorf("no instruction after the frame setup at +%#x: %w", next, err)
				}
				return attachPoint{off: next, why: fmt.Sprintf("after %s (+%#x)", a64Text(code, off, pc), next)}, nil
			}
			return attachPoint{}, unexpected("SUB $8, RSP, R29")
		}
	}
	return attachPoint{}, fmt.Errorf("no frame setup within %d instructions", maxPrologueInsns)
}

// writesScratch reports whether w only computes into one of the given
// scratch registers (constant materialisation or SP-relative arithmetic),
// as the large-frame prologues do before comparing or moving SP.
func writesScratch(w uint32, in armInst, regs ...int) bool {
	var rd int
	if _, _, d, _, _, ok := a64AddSubImm(w); ok {
		rd = d
	} else if _, _, d, _, _, ok := a64AddSubReg(w); ok {
		rd = d
	} else if _, d, _, ok := a64MoveWide(w); ok {
		rd = d
	} else if d, _, ok := a64MovBitmask(w, in); ok {
		rd = d
	} else {
		return false
	}
	for _, r := range regs {
		if rd == r {
			return true
		}
	}
	return false
}
