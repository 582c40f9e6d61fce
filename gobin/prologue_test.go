package gobin

import (
	"encoding/binary"
	"strings"
	"testing"
)

func a64Code(words ...uint32) []byte {
	var b []byte
	for _, w := range words {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b
}

// Prologue shapes beyond what the fixtures' four functions contain, plus
// code that must be rejected. Byte sequences come from real binaries where
// noted.
var prologueCases = []struct {
	name    string
	arch    string
	code    []byte
	off     uint64
	why     string // prefix of Why, or of the error when wantErr
	wantErr bool
}{
	{"x86 small frame (go1.26 setprofilebucket)", "amd64",
		[]byte{0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x7c, 0, 0, 0, 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x20},
		0xa, "at PUSHQ BP (+0xa)", false},
	{"x86 huge frame, underflow-checked", "amd64",
		[]byte{0x49, 0x89, 0xe4, 0x49, 0x81, 0xec, 0, 0x30, 0, 0, 0x0f, 0x82, 0, 1, 0, 0,
			0x4d, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0, 1, 0, 0, 0x55, 0x48, 0x89, 0xe5},
		0x1a, "at PUSHQ BP (+0x1a)", false},
	{"x86 nosplit", "amd64", []byte{0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10}, 0, "at PUSHQ BP (+0x0)", false},
	{"x86 go1.20 large frame (gcMarkTermination)", "amd64",
		[]byte{0x4c, 0x8d, 0xa4, 0x24, 0xb0, 0xfe, 0xff, 0xff, 0x4d, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x45, 0x0d, 0, 0,
			0x48, 0x81, 0xec, 0xd0, 0x01, 0, 0, 0x48, 0x89, 0xac, 0x24, 0xc8, 0x01, 0, 0, 0x48, 0x8d, 0xac, 0x24, 0xc8, 0x01, 0, 0, 0x90},
		0x29, "after LEAQ 0x1c8(SP), BP (+0x29)", false},
	{"x86 go1.20 frame with mismatched slot", "amd64",
		[]byte{0x48, 0x83, 0xec, 0x28, 0x48, 0x89, 0x6c, 0x24, 0x20, 0x48, 0x8d, 0x6c, 0x24, 0x18},
		0, `unexpected "LEAQ 0x18(SP), BP" at +0x9: want LEAQ off(SP), BP`, true},
	{"x86 NOP instead of frame", "amd64",
		[]byte{0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x7c, 0, 0, 0, 0x90},
		0, `unexpected "NOPL" at +0xa: want PUSHQ BP or SUBQ $N, SP`, true},
	{"x86 PUSHQ BP without MOVQ SP, BP", "amd64", []byte{0x55, 0x90}, 0, `unexpected "NOPL" at +0x1: want MOVQ SP, BP`, true},
	{"x86 stack check without branch", "amd64", []byte{0x49, 0x3b, 0x66, 0x10, 0x55}, 0, `unexpected "PUSHQ BP" at +0x4: want JLS`, true},
	{"x86 truncated", "amd64", []byte{0x49, 0x3b, 0x66}, 0, "cannot decode instruction at +0x0", true},
	{"x86 empty", "amd64", nil, 0, "code ends at +0x0", true},
	{"x86 endless NOPs", "amd64", []byte(strings.Repeat("\x49\x3b\x66\x10\x0f\x86\x00\x00\x00\x00", 20)), 0, "unexpected", true},

	{"a64 small frame (go1.26 setprofilebucket)", "arm64",
		a64Code(0xf9400b90, 0xeb3063ff, 0x540004c9, 0xf81d0ffe, 0xf81f83fd, 0xd10023fd, 0xf9001fe0),
		0x18, "after SUB $8, RSP, R29 (+0x18)", false},
	{"a64 large frame (go1.26 gcMarkTermination)", "arm64",
		a64Code(0xf9400b90, 0xd10703f1, 0xeb10023f, 0x54006f69, 0xd10903f4, 0xa93ffa9d, 0x9100029f, 0xd10023fd, 0xf900abe3),
		0x20, "after SUB $8, RSP, R29 (+0x20)", false},
	{"a64 nosplit", "arm64", a64Code(0xf81d0ffe, 0xf81f83fd, 0xd10023fd, 0xd503201f), 0xc, "after SUB $8, RSP, R29 (+0xc)", false},
	{"a64 ends after the prologue", "arm64", a64Code(0xf81d0ffe, 0xf81f83fd, 0xd10023fd), 0, "no instruction after the frame setup at +0xc", true},
	{"x86 ends after the prologue", "amd64", []byte{0x48, 0x83, 0xec, 0x28, 0x48, 0x89, 0x6c, 0x24, 0x20, 0x48, 0x8d, 0x6c, 0x24, 0x20},
		0, "no instruction after the frame setup at +0xe", true},
	{"a64 NOP instead of BLS", "arm64", a64Code(0xf9400b90, 0xeb3063ff, 0xd503201f), 0, `unexpected "NOOP" at +0x8: want BLS`, true},
	{"a64 frame pointer not set", "arm64", a64Code(0xf81d0ffe, 0xf81f83fd, 0xd503201f), 0, `unexpected "NOOP" at +0x8: want SUB $8, RSP, R29`, true},
	{"a64 zero word", "arm64", a64Code(0), 0, "cannot decode instruction 0x00000000 at +0x0", true},
	{"a64 odd length", "arm64", []byte{0x90, 0x0b, 0x40}, 0, "code ends at +0x0", true},
	{"a64 scratch loop", "arm64", a64Code(0xf9400b90, 0xd10703f1, 0xd10703f1, 0xd10703f1, 0xd10703f1, 0xd10703f1,
		0xd10703f1, 0xd10703f1, 0xd10703f1, 0xd10703f1, 0xd10703f1, 0xd10703f1, 0xd10703f1, 0xd10703f1, 0xd10703f1,
		0xd10703f1, 0xd10703f1), 0, "no frame setup within 16 instructions", true},
}

func TestAttachPoint(t *testing.T) {
	for _, c := range prologueCases {
		ap, err := findAttachPoint(c.arch, c.code, 0x401000)
		if c.wantErr {
			if err == nil || !strings.HasPrefix(err.Error(), c.why) {
				t.Errorf("%s: got %+v, %v; want error %q", c.name, ap, err, c.why)
			}
			continue
		}
		if err != nil || ap.off != c.off || ap.why != c.why {
			t.Errorf("%s: got %+v, %v; want off %#x why %q", c.name, ap, err, c.off, c.why)
		}
	}
	if _, err := findAttachPoint("riscv64", nil, 0); err == nil {
		t.Error("riscv64 accepted")
	}
}

func TestKindStoresA64(t *testing.T) {
	// go1.23 setprofilebucket tail: ORR $3, ZR, R1; MOVD 32(RSP), R2;
	// MOVB R1, 10(R2), then MOVD $5, R3 (MOVZ) stored to the stack (ignored)
	// and a store of R1 after a call clobbered it (ignored).
	code := a64Code(0xb24007e1, 0xf94013e2, 0x39002841, 0xd28000a3, 0x390023e3, 0x97ff908b, 0x39002841)
	found, err := kindStores("arm64", code, 0)
	if err != nil || len(found) != 1 || found[0] != (specialKind{Offset: 0x0a, Value: 3}) {
		t.Errorf("got %v, %v", found, err)
	}
}
