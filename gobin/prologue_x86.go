package gobin

import (
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// stackGuardOff is the offset of g.stackguard0 in the runtime's g struct
// (R14 holds the current g under the register ABI).
const stackGuardOff = 0x10

// attachPointX86 accepts the prologues the Go compiler emits on amd64:
//
//	stack check (absent in nosplit functions), one of:
//	  CMPQ SP, 0x10(R14)
//	  LEAQ -N(SP), R12; CMPQ R12, 0x10(R14)
//	  MOVQ SP, R12; SUBQ $N, R12; JCS more; CMPQ R12, 0x10(R14)  (frames > StackBig)
//	  then JLS (JBE) to the morestack call
//	frame setup, one of:
//	  PUSHQ BP; MOVQ SP, BP; [SUBQ $N, SP]        (Go 1.21+)
//	  SUBQ $N, SP; MOVQ BP, off(SP); LEAQ off(SP), BP  (Go 1.19 - 1.20)
//
// The probe goes on PUSHQ BP itself: the kernel emulates push instead of
// single-stepping it, and since Linux 6.11 the user stack walk adds the
// return address at [SP] when the probed instruction is push %rbp, so the
// immediate caller is kept. Without PUSHQ BP it goes on the instruction after
// the LEAQ that sets BP, where the frame-pointer chain is complete.
func attachPointX86(code []byte, pc uint64) (attachPoint, error) {
	c := &x86Cursor{code: code, pc: pc}
	in, at, err := c.next()
	if err != nil {
		return attachPoint{}, err
	}
	// Stack-bound check.
	checked := true
	switch {
	case isStackGuardCmp(in, x86asm.RSP):
	case in.Op == x86asm.LEA && isReg(in.Args[0], x86asm.R12) && isMemBase(in.Args[1], x86asm.RSP):
		if _, _, err = c.expect(func(in x86asm.Inst) bool { return isStackGuardCmp(in, x86asm.R12) }, "CMPQ R12, 0x10(R14)"); err != nil {
			return attachPoint{}, err
		}
	case in.Op == x86asm.MOV && isReg(in.Args[0], x86asm.R12) && isReg(in.Args[1], x86asm.RSP):
		steps := []struct {
			ok   func(x86asm.Inst) bool
			want string
		}{
			{func(in x86asm.Inst) bool {
				return in.Op == x86asm.SUB && isReg(in.Args[0], x86asm.R12) && isImm(in.Args[1])
			}, "SUBQ $N, R12"},
			{func(in x86asm.Inst) bool { return in.Op == x86asm.JB }, "JCS"},
			{func(in x86asm.Inst) bool { return isStackGuardCmp(in, x86asm.R12) }, "CMPQ R12, 0x10(R14)"},
		}
		for _, s := range steps {
			if _, _, err = c.expect(s.ok, s.want); err != nil {
				return attachPoint{}, err
			}
		}
	default:
		checked = false // nosplit: no stack check
	}
	if checked {
		if _, _, err = c.expect(func(in x86asm.Inst) bool { return in.Op == x86asm.JBE }, "JLS to morestack"); err != nil {
			return attachPoint{}, err
		}
		if in, at, err = c.next(); err != nil {
			return attachPoint{}, err
		}
	}
	// Frame setup.
	switch {
	case in.Op == x86asm.PUSH && isReg(in.Args[0], x86asm.RBP):
		pushAt := at
		if _, _, err = c.expect(func(in x86asm.Inst) bool {
			return in.Op == x86asm.MOV && isReg(in.Args[0], x86asm.RBP) && isReg(in.Args[1], x86asm.RSP)
		}, "MOVQ SP, BP"); err != nil {
			return attachPoint{}, err
		}
		return attachPoint{off: uint64(pushAt), why: fmt.Sprintf("at PUSHQ BP (+%#x)", pushAt)}, nil
	case in.Op == x86asm.SUB && isReg(in.Args[0], x86asm.RSP) && isImm(in.Args[1]):
		var save x86asm.Inst
		if save, _, err = c.expect(func(in x86asm.Inst) bool {
			return in.Op == x86asm.MOV && isMemBase(in.Args[0], x86asm.RSP) && isReg(in.Args[1], x86asm.RBP)
		}, "MOVQ BP, off(SP)"); err != nil {
			return attachPoint{}, err
		}
		slot := save.Args[0].(x86asm.Mem).Disp
		lea, leaAt, err := c.expect(func(in x86asm.Inst) bool {
			if in.Op != x86asm.LEA || !isReg(in.Args[0], x86asm.RBP) || !isMemBase(in.Args[1], x86asm.RSP) {
				return false
			}
			return in.Args[1].(x86asm.Mem).Disp == slot
		}, "LEAQ off(SP), BP")
		if err != nil {
			return attachPoint{}, err
		}
		if _, err := decodeX86(c.code[min(c.off, len(c.code)):]); err != nil {
			return attachPoint{}, fmt.Errorf("no instruction after the frame setup at +%#x: %w", c.off, err)
		}
		return attachPoint{off: uint64(c.off), why: fmt.Sprintf("after %s (+%#x)", c.text(lea, leaAt), c.off)}, nil
	}
	return attachPoint{}, fmt.Errorf("unexpected %q at +%#x: want PUSHQ BP or SUBQ $N, SP (frame setup)", c.text(in, at), at)
}

// x86Cursor decodes a prologue one instruction at a time, within bounds.
type x86Cursor struct {
	code []byte
	pc   uint64
	off  int // offset of the next instruction
	n    int // instructions decoded so far
}

func (c *x86Cursor) next() (x86asm.Inst, int, error) {
	if c.n >= maxPrologueInsns {
		return x86asm.Inst{}, 0, fmt.Errorf("no frame setup within %d instructions", maxPrologueInsns)
	}
	if c.off >= len(c.code) {
		return x86asm.Inst{}, 0, fmt.Errorf("code ends at +%#x before the frame setup", c.off)
	}
	in, err := decodeX86(c.code[c.off:])
	if err != nil {
		return x86asm.Inst{}, 0, fmt.Errorf("cannot decode instruction at +%#x: %w", c.off, err)
	}
	at := c.off
	c.off += in.Len
	c.n++
	return in, at, nil
}

// expect decodes the next instruction and fails unless ok accepts it.
func (c *x86Cursor) expect(ok func(x86asm.Inst) bool, want string) (x86asm.Inst, int, error) {
	in, at, err := c.next()
	if err != nil {
		return in, at, err
	}
	if !ok(in) {
		return in, at, fmt.Errorf("unexpected %q at +%#x: want %s", c.text(in, at), at, want)
	}
	return in, at, nil
}

func (c *x86Cursor) text(in x86asm.Inst, at int) string {
	return x86asm.GoSyntax(in, c.pc+uint64(at), nil)
}

// decodeX86 decodes one 64-bit instruction; a decoder panic on hostile bytes
// becomes an error.
func decodeX86(code []byte) (in x86asm.Inst, err error) {
	err = safely("x86 decode", func() error {
		var err error
		in, err = x86asm.Decode(code, 64)
		return err
	})
	if err == nil && (in.Op == 0 || in.Len <= 0 || in.Len > len(code)) {
		// x86asm returns Op 0 without an error for some truncated input.
		err = fmt.Errorf("invalid instruction (op %v, length %d of %d)", in.Op, in.Len, len(code))
	}
	return in, err
}

func isStackGuardCmp(in x86asm.Inst, reg x86asm.Reg) bool {
	if in.Op != x86asm.CMP || !isReg(in.Args[0], reg) || !isMemBase(in.Args[1], x86asm.R14) {
		return false
	}
	return in.Args[1].(x86asm.Mem).Disp == stackGuardOff
}

func isReg(a x86asm.Arg, r x86asm.Reg) bool {
	x, ok := a.(x86asm.Reg)
	return ok && x == r
}

func isImm(a x86asm.Arg) bool {
	_, ok := a.(x86asm.Imm)
	return ok
}

// isMemBase matches a plain base+displacement operand with no index or
// segment override.
func isMemBase(a x86asm.Arg, base x86asm.Reg) bool {
	m, ok := a.(x86asm.Mem)
	return ok && m.Base == base && m.Index == 0 && m.Segment == 0
}
