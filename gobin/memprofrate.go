package gobin

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// memProfileRateInit is the initial value of runtime.MemProfileRate
// (`var MemProfileRate int = 512 * 1024`), which sits in the file's
// .noptrdata even when the runtime zeroes it at start-up.
const memProfileRateInit = 512 * 1024

// memProfileRate is runtime.MemProfileRate, an 8-byte int. Its readers:
// profilealloc reads the variable itself (c.memProfRate = MemProfileRate)
// and usually inlines nextSample; the others read it too when inlining
// differs (1.24+ split mallocgc into size-class variants).
var memProfileRate = runtimeVar{
	name: "runtime.MemProfileRate",
	readers: [][]string{
		{"runtime.profilealloc"},
		{"runtime.nextSample"},
		{"runtime.mallocgc", "runtime.mallocgcTiny", "runtime.mallocgcSmallNoscan",
			"runtime.mallocgcSmallScanNoHeader", "runtime.mallocgcSmallScanHeader", "runtime.mallocgcLarge"},
	},
	is:           isMemProfileRate,
	what:         ".noptrdata global holding 524288",
	validSymbol:  validRateSymbol,
	symbolShape:  "an 8-byte .noptrdata int holding 524288",
	fallback:     decodeRunTimeRate,
	fallbackWhen: func(src hookSource) bool { return rateSetAtRunTime(src.GoVersion()) },
}

// resolveMemProfileRate finds runtime.MemProfileRate, from the symbol and
// the code, which must agree.
func resolveMemProfileRate(src hookSource) (uint64, string, error) {
	return locateVar(src, memProfileRate)
}

// decodeMemProfileRate finds runtime.MemProfileRate without symbols.
func decodeMemProfileRate(src hookSource) (uint64, string, error) {
	return decodeVar(src, memProfileRate)
}

// rateSetAtRunTime reports whether the version declares
// `var MemProfileRate int = defaultMemProfileRate(512 * 1024)` (Go 1.19):
// runtime.init computes the value, so the variable sits zeroed in
// .noptrbss and the file holds no 524288 to recognise it by.
func rateSetAtRunTime(version string) bool {
	major, minor, ok := ParseGoVersion(version)
	return ok && major == 1 && minor == 19
}

// decodeRunTimeRate (Go 1.19): the .noptrbss global that both
// runtime.profilealloc reads and runtime.init writes, where runtime.init
// also materialises 524288. profilealloc alone is ambiguous: mcache0 is a
// .noptrbss global too.
func decodeRunTimeRate(img hookSource) (uint64, string, error) {
	readers, err := noptrbssRefs(img, "runtime.profilealloc")
	if err != nil {
		return 0, "", err
	}
	writers, err := noptrbssRefs(img, "runtime.init")
	if err != nil {
		return 0, "", err
	}
	initFn, _ := img.Function("runtime.init")
	code, err := img.Code(initFn)
	if err != nil {
		return 0, "", err
	}
	if !hasImmediate(img.Arch(), code, memProfileRateInit) {
		return 0, "", fmt.Errorf("runtime.MemProfileRate: runtime.init never materialises 524288: %w", ErrNotFound)
	}
	var both []uint64
	for a := range readers {
		if writers[a] {
			both = append(both, a)
		}
	}
	if len(both) != 1 {
		return 0, "", fmt.Errorf("runtime.MemProfileRate: %d .noptrbss globals are shared by runtime.profilealloc and runtime.init %#x: %w", len(both), both, ErrNotFound)
	}
	return both[0], "decoded: the .noptrbss global read by runtime.profilealloc and set by runtime.init (go1.19 initialises it at run time)", nil
}

func noptrbssRefs(img hookSource, name string) (map[uint64]bool, error) {
	refs, err := functionRefs(img, name)
	if err != nil {
		return nil, err
	}
	set := map[uint64]bool{}
	for _, r := range refs {
		if img.sectionName(r, 8) == ".noptrbss" {
			set[r] = true
		}
	}
	return set, nil
}

// hasImmediate reports whether code materialises the constant v (x86: any
// immediate operand; arm64: MOVZ or ORR from ZR).
func hasImmediate(arch string, code []byte, v uint64) bool {
	switch arch {
	case "amd64":
		for off := 0; off < len(code); {
			in, err := decodeX86(code[off:])
			if err != nil {
				return false
			}
			off += in.Len
			for _, a := range in.Args {
				if imm, ok := a.(x86asm.Imm); ok && uint64(imm) == v {
					return true
				}
			}
		}
	case "arm64":
		for off := 0; off+4 <= len(code); off += 4 {
			w, _ := a64Word(code, off)
			if movz, _, x, ok := a64MoveWide(w); ok && movz && x == v {
				return true
			}
			if in, err := decodeA64(code[off:]); err == nil {
				if _, x, ok := a64MovBitmask(w, in); ok && x == v {
					return true
				}
			}
		}
	}
	return false
}

// validRateSymbol checks the symbol against the layout its version implies.
func validRateSymbol(img hookSource, sym elf.Symbol) bool {
	addr := sym.Value
	if sym.Size != 8 {
		return false
	}
	if rateSetAtRunTime(img.GoVersion()) && img.sectionName(addr, 8) == ".noptrbss" {
		return true
	}
	return isMemProfileRate(img, addr)
}

func isMemProfileRate(img hookSource, addr uint64) bool {
	if img.sectionName(addr, 8) != ".noptrdata" {
		return false
	}
	b, err := img.readVaddr(addr, 8)
	return err == nil && binary.LittleEndian.Uint64(b) == memProfileRateInit
}

// globalRefs lists the absolute addresses that code (at link-time pc)
// loads from or takes the address of.
func globalRefs(arch string, code []byte, pc uint64) ([]uint64, error) {
	switch arch {
	case "amd64":
		return globalRefsX86(code, pc)
	case "arm64":
		return globalRefsA64(code, pc), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedArch, arch)
}

// globalRefsX86 collects RIP-relative memory operands: MOVQ sym(SB), R and
// LEAQ sym(SB), R both encode [RIP+disp], relative to the next instruction.
func globalRefsX86(code []byte, pc uint64) ([]uint64, error) {
	var refs []uint64
	for off := 0; off < len(code); {
		in, err := decodeX86(code[off:])
		if err != nil {
			return nil, fmt.Errorf("cannot decode instruction at +%#x: %w", off, err)
		}
		off += in.Len
		for _, a := range in.Args {
			if m, ok := a.(x86asm.Mem); ok && m.Base == x86asm.RIP {
				refs = append(refs, pc+uint64(off)+uint64(m.Disp))
			}
		}
	}
	return refs, nil
}

// globalRefsA64 collects ADRP Rn, page followed by MOVD off(Rn), R (LDR) or
// ADD $off, Rn, R: the linker's two-instruction global access.
func globalRefsA64(code []byte, pc uint64) []uint64 {
	var refs []uint64
	var have [32]bool
	var page [32]uint64
	for off := 0; off+4 <= len(code); off += 4 {
		w, _ := a64Word(code, off)
		if rd, p, ok := a64ADRP(w, pc+uint64(off)); ok {
			have[rd], page[rd] = rd != a64ZR, p
			continue
		}
		if _, rn, o, ok := a64LoadX(w); ok && have[rn] {
			refs = append(refs, page[rn]+o)
		} else if sub, flags, _, rn, imm, ok := a64AddSubImm(w); ok && !sub && !flags && have[rn] {
			refs = append(refs, page[rn]+imm)
		}
		in, err := decodeA64(code[off:])
		if err != nil || strings.HasPrefix(in.Op.String(), "BL") {
			have = [32]bool{} // padding, or a call that clobbers registers
			continue
		}
		if rd, ok := a64WrittenReg(in); ok {
			have[rd] = false
		}
	}
	return refs
}
