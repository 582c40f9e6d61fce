package gobin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/internal/testutil"
)

// Twin builds differ only in -s, and their -ldflags strings have the same
// length: the flags are recorded in the binary's build info, so "-s -w"
// against no flags shifts the data segment (seen: 0x20 bytes on arm64),
// while twins keep every address identical.
const (
	ldUnstripped = "-s=0 -w"
	ldStripped   = "-s=1 -w"
)

func TestLocalBuilds(t *testing.T) {
	want := localGoVersion(t)
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			def := openHooks(t, fixture{GOARCH: arch}, want)
			strip := openHooks(t, fixture{GOARCH: arch, LDFlags: "-s -w"}, want)
			if !strip.b.Stripped() || def.b.Stripped() {
				t.Errorf("Stripped: default %v, -s -w %v", def.b.Stripped(), strip.b.Stripped())
			}
			sameCode(t, def.h, strip.h)
			twinsAgree(t, fixture{GOARCH: arch}, want)
			pie := openHooks(t, fixture{GOARCH: arch, PIE: true}, want)
			if !pie.b.PIE() || def.b.PIE() {
				t.Errorf("PIE: default %v, pie %v", def.b.PIE(), pie.b.PIE())
			}
		})
	}
	t.Run("static", func(t *testing.T) {
		openHooks(t, fixture{GOARCH: "amd64", CGO: "0"}, want)
	})
	// External linking puts C start-up code before runtime.text, so
	// pclntab offsets are not relative to .text: the stripped twin needs
	// runtime.firstmoduledata to find the text start.
	t.Run("external-link", func(t *testing.T) {
		if _, err := exec.LookPath("gcc"); err != nil {
			t.Skip("no gcc for -linkmode=external")
		}
		f := fixture{GOARCH: "amd64", CGO: "1", LDFlags: "-linkmode=external " + ldUnstripped}
		u := openHooks(t, f, want)
		f.LDFlags = "-linkmode=external " + ldStripped
		s := openHooks(t, f, want)
		sameCode(t, u.h, s.h)
		text := runtimeText(t, u.b)
		if text == u.b.im.f.Section(".text").Addr {
			t.Errorf("runtime.text is .text (%#x): this build does not exercise the moduledata path", text)
		}
		if ft, err := s.b.funcs(); err != nil {
			t.Errorf("stripped twin: %v", err)
		} else if ft.tab.text != text {
			t.Errorf("moduledata text %#x, runtime.text %#x", ft.tab.text, text)
		}
		f.PIE, f.LDFlags = true, "-linkmode=external "+ldUnstripped
		u = openHooks(t, f, want)
		f.LDFlags = "-linkmode=external " + ldStripped
		s = openHooks(t, f, want)
		sameCode(t, u.h, s.h)
	})
}

// TestToolchains builds the fixture with older releases fetched through the
// module proxy (GOTOOLCHAIN=go1.N.P) and checks that decoding agrees with
// the table for each.
func TestToolchains(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with 9 downloaded toolchains; run without -short")
	}
	for _, v := range testutil.Releases {
		for _, arch := range []string{"amd64", "arm64"} {
			t.Run(v+"/"+arch, func(t *testing.T) {
				twinsAgree(t, fixture{Toolchain: v, GOARCH: arch}, v)
			})
		}
	}
	// PIE binaries from go1.20 and older keep the function table in
	// .data.rel.ro.gopclntab.
	t.Run("go1.20.14/amd64-pie-stripped", func(t *testing.T) {
		o := openHooks(t, fixture{Toolchain: "go1.20.14", GOARCH: "amd64", PIE: true, LDFlags: ldStripped}, "go1.20.14")
		if !o.b.PIE() || !o.b.Stripped() {
			t.Errorf("PIE %v Stripped %v, want both", o.b.PIE(), o.b.Stripped())
		}
	})
}

type opened struct {
	b *Binary
	h *Hooks
}

// openHooks builds f, resolves its hooks and checks them.
func openHooks(t *testing.T, f fixture, wantVersion string) opened {
	t.Helper()
	path := buildFixture(t, f)
	b, err := Open(path)
	if err != nil {
		t.Fatalf("%v: Open: %v", f, err)
	}
	t.Cleanup(func() { b.Close() })
	if b.Arch() != f.GOARCH {
		t.Errorf("%v: Arch %q", f, b.Arch())
	}
	h, err := b.ResolveHooks()
	if err != nil {
		t.Fatalf("%v: ResolveHooks: %v", f, err)
	}
	checkHooks(t, f, b, h, wantVersion)
	return opened{b, h}
}

// twinsAgree builds f as an unstripped/stripped pair and checks both, and
// that stripping changes nothing that was decoded.
func twinsAgree(t *testing.T, f fixture, wantVersion string) {
	t.Helper()
	f.LDFlags = ldUnstripped
	u := openHooks(t, f, wantVersion)
	f.LDFlags = ldStripped
	s := openHooks(t, f, wantVersion)
	if u.b.Stripped() || !s.b.Stripped() {
		t.Fatalf("twins: Stripped %v / %v", u.b.Stripped(), s.b.Stripped())
	}
	sameCode(t, u.h, s.h)
	if u.h.MemProfileRateAddr != s.h.MemProfileRateAddr {
		t.Errorf("MemProfileRate: unstripped %#x, stripped %#x", u.h.MemProfileRateAddr, s.h.MemProfileRateAddr)
	}
	t.Logf("%s %s: kind at %#x = %d; profilealloc %s; setprofilebucket %s; freeSpecial %s; gcMarkTermination %s; MemProfileRate: %s",
		wantVersion, f.GOARCH, u.h.SpecialKindOffset, u.h.SpecialKindProfile, u.h.ProfileAlloc.Why,
		u.h.SetProfileBucket.Why, u.h.FreeSpecial.Why, u.h.GCMarkTermination.Why, s.h.MemProfileRateWhy)
}

// sameCode compares everything decoded from code between two builds of the
// same source with the same text layout.
func sameCode(t *testing.T, a, b *Hooks) {
	t.Helper()
	pairs := [][2]Hook{
		{a.ProfileAlloc, b.ProfileAlloc}, {a.SetProfileBucket, b.SetProfileBucket},
		{a.FreeSpecial, b.FreeSpecial}, {a.GCMarkTermination, b.GCMarkTermination},
	}
	for _, p := range pairs {
		x, y := p[0], p[1]
		if x.Name != y.Name || x.Func.Entry != y.Func.Entry || x.AttachAddr != y.AttachAddr ||
			x.FileOffset != y.FileOffset || x.Why != y.Why {
			t.Errorf("hook differs:\n %+v\n %+v", x, y)
		}
	}
	if a.GoVersion != b.GoVersion || a.SpecialKindOffset != b.SpecialKindOffset || a.SpecialKindProfile != b.SpecialKindProfile {
		t.Errorf("version/kind differ: %s %#x %d vs %s %#x %d", a.GoVersion, a.SpecialKindOffset,
			a.SpecialKindProfile, b.GoVersion, b.SpecialKindOffset, b.SpecialKindProfile)
	}
}

func checkHooks(t *testing.T, f fixture, b *Binary, h *Hooks, wantVersion string) {
	t.Helper()
	if h.GoVersion != wantVersion || b.GoVersion() != wantVersion {
		t.Errorf("%v: GoVersion %q / %q, want %q", f, h.GoVersion, b.GoVersion(), wantVersion)
	}
	major, minor, ok := ParseGoVersion(wantVersion)
	want, known := knownSpecialKind(major, minor)
	if !ok || !known {
		t.Fatalf("%v: %s is not in the special-kind table", f, wantVersion)
	}
	if h.SpecialKindOffset != want.Offset || h.SpecialKindProfile != want.Value {
		t.Errorf("%v: special kind at %#x = %d, want %v", f, h.SpecialKindOffset, h.SpecialKindProfile, want)
	}
	for _, hk := range []Hook{h.ProfileAlloc, h.SetProfileBucket, h.FreeSpecial, h.GCMarkTermination} {
		checkHook(t, f, b, hk, minor)
	}
	if sym, ok := b.dataSymbol("runtime.MemProfileRate"); ok {
		if h.MemProfileRateAddr != sym.Value || !strings.Contains(h.MemProfileRateWhy, "agrees") {
			t.Errorf("%v: MemProfileRate %#x (%s), symbol %#x", f, h.MemProfileRateAddr, h.MemProfileRateWhy, sym.Value)
		}
	} else if !b.Stripped() {
		t.Errorf("%v: unstripped binary without runtime.MemProfileRate symbol", f)
	}
	if minor >= 20 {
		v, err := b.readVaddr(h.MemProfileRateAddr, 8)
		if err != nil || binary.LittleEndian.Uint64(v) != memProfileRateInit {
			t.Errorf("%v: MemProfileRate at %#x holds %x (%v)", f, h.MemProfileRateAddr, v, err)
		}
	}
	if !b.Stripped() {
		checkPclntabAgrees(t, f, b, h)
	}
}

// checkHook verifies the attach point against the raw bytes at its file
// offset, which also proves FileOffset.
func checkHook(t *testing.T, f fixture, b *Binary, hk Hook, minor int) {
	t.Helper()
	if hk.AttachAddr <= hk.Func.Entry || hk.AttachAddr >= hk.Func.End {
		t.Errorf("%v: %s attach %#x outside (%#x, %#x)", f, hk.Name, hk.AttachAddr, hk.Func.Entry, hk.Func.End)
		return
	}
	if off, err := b.FileOffset(hk.AttachAddr); err != nil || off != hk.FileOffset {
		t.Errorf("%v: %s FileOffset %#x, recomputed %#x (%v)", f, hk.Name, hk.FileOffset, off, err)
	}
	code, err := b.Code(hk.Func)
	if err != nil {
		t.Fatalf("%v: %s: %v", f, hk.Name, err)
	}
	raw := make([]byte, 4)
	if _, err := b.im.r.ReadAt(raw, int64(hk.FileOffset)); err != nil {
		t.Fatal(err)
	}
	rel := hk.AttachAddr - hk.Func.Entry
	if !bytes.Equal(raw, code[rel:rel+4]) {
		t.Errorf("%v: %s: file bytes at %#x = %x, code bytes = %x", f, hk.Name, hk.FileOffset, raw, code[rel:rel+4])
	}
	switch {
	case f.GOARCH == "amd64" && minor >= 21:
		if raw[0] != 0x55 || !strings.HasPrefix(hk.Why, "at PUSHQ BP") {
			t.Errorf("%v: %s: attach at %x (%s), want PUSHQ BP", f, hk.Name, raw, hk.Why)
		}
	case f.GOARCH == "amd64":
		if !strings.HasPrefix(hk.Why, "after LEAQ") || !strings.HasSuffix(hk.Why, fmt.Sprintf(", BP (+%#x)", rel)) {
			t.Errorf("%v: %s: %s, want after LEAQ off(SP), BP", f, hk.Name, hk.Why)
		}
	default:
		if binary.LittleEndian.Uint32(code[rel-4:]) != 0xd10023fd || !strings.HasPrefix(hk.Why, "after SUB $8, RSP, R29") {
			t.Errorf("%v: %s: %s, want after SUB $8, RSP, R29", f, hk.Name, hk.Why)
		}
	}
}

// checkPclntabAgrees looks the hooked functions up through .gopclntab too,
// the path stripped binaries take.
func checkPclntabAgrees(t *testing.T, f fixture, b *Binary, h *Hooks) {
	t.Helper()
	if err := b.LoadFuncTable(); err != nil {
		t.Fatalf("%v: pclntab: %v", f, err)
	}
	byName := b.funcsByName()
	for _, hk := range []Hook{h.ProfileAlloc, h.SetProfileBucket, h.FreeSpecial, h.GCMarkTermination} {
		fn, ok := byName[hk.Name]
		if !ok || fn.Entry != hk.Func.Entry || fn.End < hk.Func.End {
			t.Errorf("%v: %s: symtab %#x-%#x, pclntab %+v", f, hk.Name, hk.Func.Entry, hk.Func.End, fn)
		}
		if chain := b.Expand(hk.Func.Entry); len(chain) == 0 || chain[len(chain)-1].Function != hk.Name {
			t.Errorf("%v: Expand(%s entry) = %+v", f, hk.Name, chain)
		}
	}
}

func localGoVersion(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build fixtures")
	}
	cmd := exec.Command("go", "env", "GOVERSION")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	v, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go env GOVERSION: %v: %s", err, v)
	}
	return strings.TrimSpace(string(v))
}

// TestHookOfAnyFunction: Binary.Hook finds the same site as ResolveHooks
// for a runtime hook, and a site after the stack check for a user function.
func TestHookOfAnyFunction(t *testing.T) {
	o := openHooks(t, fixture{GOARCH: "amd64"}, localGoVersion(t))
	h, err := o.b.Hook("runtime.gcMarkTermination")
	if err != nil || h != o.h.GCMarkTermination {
		t.Errorf("Hook(runtime.gcMarkTermination) = %+v, %v; want %+v", h, err, o.h.GCMarkTermination)
	}
	m, err := o.b.Hook("main.main")
	if err != nil || m.AttachAddr <= m.Func.Entry || m.AttachAddr >= m.Func.End {
		t.Errorf("Hook(main.main) = %+v, %v; want a site inside the function, past its entry", m, err)
	}
	if _, err := o.b.Hook("main.noSuchFunction"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Hook of a missing function: %v, want ErrNotFound", err)
	}
}

// runtimeText returns the address of the runtime.text symbol.
func runtimeText(t *testing.T, b *Binary) uint64 {
	t.Helper()
	syms, err := b.im.f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == "runtime.text" {
			return s.Value
		}
	}
	t.Fatal("no runtime.text symbol")
	return 0
}
