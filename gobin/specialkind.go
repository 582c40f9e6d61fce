package gobin

import (
	"fmt"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// specialKind locates the kind byte of a runtime.special and the value
// that marks a heap-profile special; freeSpecial runs for every kind
// (finalizers, weak handles, cleanups, pins...), so the free hook filters
// on it.
type specialKind struct {
	Offset uint16
	Value  uint8
}

func (k specialKind) String() string { return fmt.Sprintf("kind byte at %#x = %d", k.Offset, k.Value) }

// knownSpecialKind is the table for Go 1.19 - 1.27, from the runtime sources
// (mheap.go: type special, _KindSpecialProfile) and confirmed by decoding
// runtime.setprofilebucket in fixtures built by go1.19.13, go1.20.14,
// go1.21.13, go1.22.12, go1.23.12, go1.24.13, go1.25.14, go1.26.8,
// go1.26.11 and go1.27.4 for amd64 and arm64 (TestToolchains):
//
//	1.19 - 1.22  offset 0x0a  kind 2  special{next *special; offset uint16; kind byte}, profile = 2
//	1.23         offset 0x0a  kind 3  _KindSpecialWeakHandle inserted before profile
//	1.24         offset 0x10  kind 3  special.offset widened to uintptr
//	1.25 - 1.27  offset 0x10  kind 4  _KindSpecialTinyBlock inserted first
func knownSpecialKind(major, minor int) (specialKind, bool) {
	if major != 1 {
		return specialKind{}, false
	}
	switch {
	case minor >= 19 && minor <= 22:
		return specialKind{Offset: 0x0a, Value: 2}, true
	case minor == 23:
		return specialKind{Offset: 0x0a, Value: 3}, true
	case minor == 24:
		return specialKind{Offset: 0x10, Value: 3}, true
	case minor >= 25 && minor <= 27:
		return specialKind{Offset: 0x10, Value: 4}, true
	}
	return specialKind{}, false
}

// maxKindOffset bounds a plausible offset of the kind byte: special is a
// three-word header.
const maxKindOffset = 0x40

// kindStores decodes runtime.setprofilebucket and returns every distinct
// single-byte store of a non-zero immediate into a heap object (not the
// stack). In setprofilebucket that is `s.special.kind = _KindSpecialProfile`.
func kindStores(arch string, code []byte, pc uint64) ([]specialKind, error) {
	var found []specialKind
	add := func(off int64, v uint64) {
		if off < 0 || off > maxKindOffset || v == 0 || v > 0xff {
			return
		}
		k := specialKind{Offset: uint16(off), Value: uint8(v)}
		for _, f := range found {
			if f == k {
				return
			}
		}
		found = append(found, k)
	}
	switch arch {
	case "amd64":
		if err := kindStoresX86(code, add); err != nil {
			return nil, err
		}
	case "arm64":
		kindStoresA64(code, add)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedArch, arch)
	}
	return found, nil
}

// kindStoresX86 finds MOVB $K, OFF(reg).
func kindStoresX86(code []byte, add func(off int64, v uint64)) error {
	for off := 0; off < len(code); {
		in, err := decodeX86(code[off:])
		if err != nil {
			return fmt.Errorf("cannot decode instruction at +%#x: %w", off, err)
		}
		off += in.Len
		if in.Op != x86asm.MOV || in.MemBytes != 1 {
			continue
		}
		m, ok := in.Args[0].(x86asm.Mem)
		imm, isImm := in.Args[1].(x86asm.Imm)
		if !ok || !isImm || m.Index != 0 || m.Segment != 0 {
			continue
		}
		switch m.Base {
		case 0, x86asm.RSP, x86asm.RBP, x86asm.RIP:
			continue // stack slots and globals are not the new special
		}
		add(m.Disp, uint64(imm)&0xff)
	}
	return nil
}

// kindStoresA64 finds MOVD $K, Rn (MOVZ or ORR from ZR) followed by
// MOVB Rn, OFF(Rm), tracking which registers hold known constants.
func kindStoresA64(code []byte, add func(off int64, v uint64)) {
	var known [32]bool
	var val [32]uint64
	for off := 0; off+4 <= len(code); off += 4 {
		w, _ := a64Word(code, off)
		in, err := decodeA64(code[off:])
		if err != nil {
			known = [32]bool{} // padding or data: forget everything
			continue
		}
		if movz, rd, v, ok := a64MoveWide(w); ok {
			known[rd], val[rd] = movz && rd != a64ZR, v
			continue
		}
		if rd, v, ok := a64MovBitmask(w, in); ok {
			known[rd], val[rd] = rd != a64ZR, v
			continue
		}
		if rt, rn, o, ok := a64StoreB(w); ok {
			if rn != a64SP && rn != a64FP && rt != a64ZR && known[rt] {
				add(o, val[rt])
			}
			continue
		}
		if strings.HasPrefix(in.Op.String(), "BL") {
			known = [32]bool{} // calls clobber every register
			continue
		}
		if rd, ok := a64WrittenReg(in); ok {
			known[rd] = false
		}
	}
}
