package gobin

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/arch/arm64/arm64asm"
)

// arm64asm validates and prints instructions, but keeps most immediates
// (memory offsets, shifted immediates) in unexported fields. These helpers
// read the few encodings gobin needs straight from the 32-bit word; each
// names the Go assembler spelling it matches. Register numbers are 0-31,
// where 31 is SP or ZR depending on the instruction.

const (
	a64SP     = 31
	a64ZR     = 31
	a64FP     = 29 // R29, frame pointer
	a64LR     = 30 // R30, link register
	a64G      = 28 // R28, current g
	a64Tmp    = 27 // R27, assembler temporary (REGTMP)
	a64Stk1   = 16 // R16, stack-check scratch
	a64Stk2   = 17 // R17, stack-check scratch
	a64Frame  = 20 // R20, large-frame scratch
	a64CondLO = 3
	a64CondLS = 9
)

func a64Word(code []byte, off int) (uint32, bool) {
	if off < 0 || off+4 > len(code) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(code[off:]), true
}

// decodeA64 decodes one instruction; a decoder panic becomes an error.
func decodeA64(code []byte) (in arm64asm.Inst, err error) {
	err = safely("arm64 decode", func() error {
		var err error
		in, err = arm64asm.Decode(code)
		return err
	})
	return in, err
}

func a64Text(code []byte, off int, pc uint64) string {
	in, err := decodeA64(code[off:])
	if err != nil {
		w, _ := a64Word(code, off)
		return fmt.Sprintf("WORD $%#08x", w)
	}
	return arm64asm.GoSyntax(in, pc+uint64(off), nil, nil)
}

func signExtend(v uint32, bits uint) int64 {
	shift := 64 - bits
	return int64(uint64(v)<<shift) >> shift
}

// a64LoadX matches MOVD off(Rn), Rt: LDR Xt, [Xn, #off] (unsigned offset).
func a64LoadX(w uint32) (rt, rn int, off uint64, ok bool) {
	if w&0xffc00000 != 0xf9400000 {
		return 0, 0, 0, false
	}
	return int(w & 31), int(w >> 5 & 31), uint64(w>>10&0xfff) * 8, true
}

// a64StoreB matches MOVB Rt, off(Rn): STRB Wt, [Xn, #off] (unsigned
// offset) or STURB Wt, [Xn, #simm9].
func a64StoreB(w uint32) (rt, rn int, off int64, ok bool) {
	switch {
	case w&0xffc00000 == 0x39000000:
		return int(w & 31), int(w >> 5 & 31), int64(w >> 10 & 0xfff), true
	case w&0xffe00c00 == 0x38000000:
		return int(w & 31), int(w >> 5 & 31), signExtend(w>>12&0x1ff, 9), true
	}
	return 0, 0, 0, false
}

// a64StoreXPre matches MOVD.W Rt, off(Rn): STR Xt, [Xn, #simm9]!.
func a64StoreXPre(w uint32) (rt, rn int, off int64, ok bool) {
	if w&0xffe00c00 != 0xf8000c00 {
		return 0, 0, 0, false
	}
	return int(w & 31), int(w >> 5 & 31), signExtend(w>>12&0x1ff, 9), true
}

// a64StoreXUnscaled matches MOVD Rt, -8(Rn): STUR Xt, [Xn, #simm9].
func a64StoreXUnscaled(w uint32) (rt, rn int, off int64, ok bool) {
	if w&0xffe00c00 != 0xf8000000 {
		return 0, 0, 0, false
	}
	return int(w & 31), int(w >> 5 & 31), signExtend(w>>12&0x1ff, 9), true
}

// a64StorePairX matches STP (Rt, Rt2), off(Rn) with a signed offset.
func a64StorePairX(w uint32) (rt, rt2, rn int, off int64, ok bool) {
	if w&0xffc00000 != 0xa9000000 {
		return 0, 0, 0, 0, false
	}
	return int(w & 31), int(w >> 10 & 31), int(w >> 5 & 31), signExtend(w>>15&0x7f, 7) * 8, true
}

// a64AddSubImm matches 64-bit ADD/ADDS/SUB/SUBS with an immediate.
func a64AddSubImm(w uint32) (sub, flags bool, rd, rn int, imm uint64, ok bool) {
	if w&0x9f800000 != 0x91000000 {
		return false, false, 0, 0, 0, false
	}
	imm = uint64(w >> 10 & 0xfff)
	if w>>22&1 == 1 {
		imm <<= 12
	}
	return w>>30&1 == 1, w>>29&1 == 1, int(w & 31), int(w >> 5 & 31), imm, true
}

// a64AddSubReg matches 64-bit ADD/SUB(S) with a shifted or extended
// register; CMP is SUBS with rd = ZR.
func a64AddSubReg(w uint32) (sub, flags bool, rd, rn, rm int, ok bool) {
	if w&0x9f200000 != 0x8b000000 && w&0x9fe00000 != 0x8b200000 {
		return false, false, 0, 0, 0, false
	}
	return w>>30&1 == 1, w>>29&1 == 1, int(w & 31), int(w >> 5 & 31), int(w >> 16 & 31), true
}

// a64BranchCond matches B.cond.
func a64BranchCond(w uint32) (cond int, ok bool) {
	if w&0xff000010 != 0x54000000 {
		return 0, false
	}
	return int(w & 0xf), true
}

// a64MoveWide matches MOVZ/MOVN/MOVK (32 or 64 bit). value is the shifted
// 16-bit immediate; only MOVZ yields the register's full value.
func a64MoveWide(w uint32) (movz bool, rd int, value uint64, ok bool) {
	if w&0x1f800000 != 0x12800000 {
		return false, 0, 0, false
	}
	opc := w >> 29 & 3
	if opc == 1 {
		return false, 0, 0, false // unallocated
	}
	hw := w >> 21 & 3
	return opc == 2, int(w & 31), uint64(w>>5&0xffff) << (16 * hw), true
}

// a64MovBitmask matches ORR Rd, ZR, #bitmask (the assembler's MOVD $imm for
// bitmask immediates such as 2, 3 and 4); arm64asm decodes the bitmask.
func a64MovBitmask(w uint32, in arm64asm.Inst) (rd int, value uint64, ok bool) {
	if w&0x7f800000 != 0x32000000 || int(w>>5&31) != a64ZR {
		return 0, 0, false
	}
	switch v := in.Args[2].(type) {
	case arm64asm.Imm64:
		return int(w & 31), v.Imm, true
	case arm64asm.Imm:
		return int(w & 31), uint64(v.Imm), true
	}
	return 0, 0, false
}

// a64ADRP matches ADRP Rd, page and returns the page address for an
// instruction at pc.
func a64ADRP(w uint32, pc uint64) (rd int, page uint64, ok bool) {
	if w&0x9f000000 != 0x90000000 {
		return 0, 0, false
	}
	imm := signExtend((w>>5&0x7ffff)<<2|w>>29&3, 21) << 12
	return int(w & 31), (pc &^ 0xfff) + uint64(imm), true
}

// a64WrittenReg is the register an instruction overwrites, as far as the
// constant trackers need to know (stores and compares write none they
// track). It uses arm64asm's operands: Args[0] is the destination of every
// non-store instruction that has one.
func a64WrittenReg(in arm64asm.Inst) (int, bool) {
	switch in.Op {
	case arm64asm.STR, arm64asm.STRB, arm64asm.STRH, arm64asm.STUR, arm64asm.STURB,
		arm64asm.STURH, arm64asm.STP, arm64asm.CMP, arm64asm.CMN, arm64asm.TST,
		arm64asm.B, arm64asm.BL, arm64asm.BR, arm64asm.BLR, arm64asm.RET,
		arm64asm.CBZ, arm64asm.CBNZ, arm64asm.TBZ, arm64asm.TBNZ, arm64asm.NOP:
		return 0, false
	}
	switch r := in.Args[0].(type) {
	case arm64asm.Reg:
		if r <= arm64asm.XZR {
			return int(r) & 31, true
		}
	case arm64asm.RegSP:
		if arm64asm.Reg(r) <= arm64asm.XZR {
			return int(r) & 31, true
		}
	}
	return 0, false
}

// armInst is arm64asm's decoded instruction.
type armInst = arm64asm.Inst
