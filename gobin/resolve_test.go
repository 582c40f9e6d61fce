package gobin

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// doctored is a real binary with parts of what it reports replaced, to
// reach the error paths of resolveHooks.
type doctored struct {
	*Binary
	version *string     // replaces GoVersion when set
	hide    string      // a function to report missing
	rateSym *elf.Symbol // replaces runtime.MemProfileRate when set
	fakeVar uint64      // an address that looks like MemProfileRate
}

func (d doctored) sectionName(vaddr, n uint64) string {
	if d.fakeVar != 0 && vaddr == d.fakeVar {
		return ".noptrdata"
	}
	return d.Binary.sectionName(vaddr, n)
}

func (d doctored) readVaddr(vaddr, n uint64) ([]byte, error) {
	if d.fakeVar != 0 && vaddr == d.fakeVar && n == 8 {
		return binary.LittleEndian.AppendUint64(nil, memProfileRateInit), nil
	}
	return d.Binary.readVaddr(vaddr, n)
}

func (d doctored) GoVersion() string {
	if d.version != nil {
		return *d.version
	}
	return d.Binary.GoVersion()
}

func (d doctored) Function(name string) (Func, error) {
	if name == d.hide {
		return Func{}, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return d.Binary.Function(name)
}

func (d doctored) dataSymbol(name string) (elf.Symbol, bool) {
	if name == "runtime.MemProfileRate" && d.rateSym != nil {
		return *d.rateSym, true
	}
	return d.Binary.dataSymbol(name)
}

func localBinary(t *testing.T, f fixture) *Binary {
	t.Helper()
	b, err := Open(buildFixture(t, f))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestMissingFunction(t *testing.T) {
	b := localBinary(t, fixture{GOARCH: "amd64"})
	for name, purpose := range map[string]string{
		"runtime.freeSpecial":       "cannot watch frees",
		"runtime.profilealloc":      "cannot watch sampled allocations",
		"runtime.setprofilebucket":  "cannot confirm sampled allocations",
		"runtime.gcMarkTermination": "cannot count GC cycles",
	} {
		_, err := resolveHooks(doctored{Binary: b, hide: name})
		want := name + " not found in binary: " + purpose
		if err == nil || err.Error() != want || !errors.Is(err, ErrNotFound) {
			t.Errorf("hiding %s: got %v, want %q wrapping ErrNotFound", name, err, want)
		}
	}
}

func TestSpecialKindVersionChecks(t *testing.T) {
	b := localBinary(t, fixture{GOARCH: "arm64"}) // stores kind 4 at 0x10
	str := func(s string) *string { return &s }
	cases := []struct {
		version string
		wantErr string // "" for success
		want    specialKind
	}{
		{b.GoVersion(), "", specialKind{0x10, 4}},
		{"go1.23.5", "the table says kind byte at 0xa = 3", specialKind{}},
		{"go1.24.0", "the table says kind byte at 0x10 = 3", specialKind{}},
		{"", "", specialKind{0x10, 4}},         // unknown: one candidate is enough
		{"go1.99.1", "", specialKind{0x10, 4}}, // not in the table
		{"go1.18.10", "older than go1.19", specialKind{}},
	}
	for _, c := range cases {
		h, err := resolveHooks(doctored{Binary: b, version: str(c.version)})
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: got %v, want error containing %q", c.version, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", c.version, err)
		case h.SpecialKindOffset != c.want.Offset || h.SpecialKindProfile != c.want.Value:
			t.Errorf("%q: kind at %#x = %d, want %v", c.version, h.SpecialKindOffset, h.SpecialKindProfile, c.want)
		}
	}
}

// An unknown version must not accept an ambiguous decode.
func TestSpecialKindAmbiguous(t *testing.T) {
	// MOVB $0x4, 0x10(BX); MOVB $0x2, 0xa(CX); MOVB $0x7, 0x8(SP) (stack: ignored)
	code := []byte{0xc6, 0x43, 0x10, 0x04, 0xc6, 0x41, 0x0a, 0x02, 0xc6, 0x44, 0x24, 0x08, 0x07}
	found, err := kindStores("amd64", code, 0x1000)
	if err != nil || len(found) != 2 {
		t.Fatalf("kindStores = %v, %v; want two candidates", found, err)
	}
	img := fakeCode{arch: "amd64", code: code}
	_, _, err = resolveSpecialKind(img, Func{Name: "runtime.setprofilebucket", Entry: 0x1000, End: 0x1000 + uint64(len(code))}, "")
	if err == nil || !strings.Contains(err.Error(), "cannot verify special kind for an unknown Go version") {
		t.Errorf("got %v", err)
	}
	_, _, err = resolveSpecialKind(img, Func{Name: "runtime.setprofilebucket", Entry: 0x1000, End: 0x1000 + uint64(len(code))}, "go1.30.1")
	if err == nil || !strings.Contains(err.Error(), "cannot verify special kind for go1.30.1") {
		t.Errorf("got %v", err)
	}
}

// fakeCode is a hookSource whose only function is code.
type fakeCode struct {
	hookSource
	arch string
	code []byte
}

func (f fakeCode) Arch() string                      { return f.arch }
func (f fakeCode) Code(Func) ([]byte, error)         { return f.code, nil }
func (f fakeCode) GoVersion() string                 { return "" }
func (f fakeCode) sectionName(uint64, uint64) string { return "" }

func TestMemProfileRateMustAgree(t *testing.T) {
	b := localBinary(t, fixture{GOARCH: "amd64"})
	real, ok := b.dataSymbol("runtime.MemProfileRate")
	if !ok {
		t.Fatal("no runtime.MemProfileRate symbol")
	}
	// A symbol that does not look like the variable.
	wrong := real
	wrong.Value += 8
	_, err := resolveHooks(doctored{Binary: b, rateSym: &wrong})
	if err == nil || !strings.Contains(err.Error(), "is not an 8-byte .noptrdata int holding 524288") {
		t.Errorf("symbol off by 8: got %v", err)
	}
	// A plausible symbol that is not what the code reads.
	other := real
	other.Value += 0x1000
	_, err = resolveHooks(doctored{Binary: b, rateSym: &other, fakeVar: other.Value})
	want := fmt.Sprintf("runtime.MemProfileRate: symbol says %#x, decoding says %#x", other.Value, real.Value)
	if err == nil || err.Error() != want {
		t.Errorf("disagreement: got %v, want %q", err, want)
	}
	// The real one agrees.
	h, err := resolveHooks(doctored{Binary: b, rateSym: &real})
	if err != nil || h.MemProfileRateAddr != real.Value {
		t.Errorf("real symbol: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	if err := os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(text); !errors.Is(err, ErrNotELF) || !strings.Contains(err.Error(), "not an ELF file") {
		t.Errorf("script: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file opened")
	}
	self, err := os.Executable() // the test binary is a Go program
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/bin/true"); err == nil {
		_, err := Open("/bin/true")
		if !errors.Is(err, ErrNotGo) || !strings.Contains(err.Error(), "not a Go binary (no .gopclntab)") {
			t.Errorf("/bin/true: %v", err)
		}
	}
	// Same binary claiming to be RISC-V: e_machine is at offset 18.
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	data[18], data[19] = byte(elf.EM_RISCV), 0
	riscv := filepath.Join(dir, "riscv")
	if err := os.WriteFile(riscv, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(riscv); !errors.Is(err, ErrUnsupportedArch) || !strings.Contains(err.Error(), "EM_RISCV") {
		t.Errorf("riscv: %v", err)
	}
	// Truncated: the headers point past the end of the file.
	trunc := filepath.Join(dir, "trunc")
	if err := os.WriteFile(trunc, data[:4096], 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := Open(trunc); err == nil {
		_, err = b.ResolveHooks()
		b.Close()
		if err == nil {
			t.Error("truncated binary resolved")
		}
	}
}

func TestFileOffsetAndCode(t *testing.T) {
	b := localBinary(t, fixture{GOARCH: "amd64", PIE: true})
	fn, err := b.Function("runtime.profilealloc")
	if err != nil {
		t.Fatal(err)
	}
	off, err := b.FileOffset(fn.Entry)
	if err != nil {
		t.Fatal(err)
	}
	text := b.im.f.Section(".text")
	if want := fn.Entry - text.Addr + text.Offset; off != want {
		t.Errorf("FileOffset(%#x) = %#x, want %#x", fn.Entry, off, want)
	}
	for _, bad := range []uint64{0, 1 << 62, ^uint64(0)} {
		if _, err := b.FileOffset(bad); err == nil {
			t.Errorf("FileOffset(%#x) succeeded", bad)
		}
	}
	if _, err := b.Code(Func{Name: "x", Entry: fn.Entry, End: fn.Entry + maxCodeSize + 1}); err == nil {
		t.Error("oversized Code succeeded")
	}
	if _, err := b.Code(Func{Name: "x", Entry: fn.End, End: fn.Entry}); err == nil {
		t.Error("inverted Code succeeded")
	}
	if _, err := b.Function("runtime.noSuchFunction"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing function: %v", err)
	}
}

func TestParseGoVersion(t *testing.T) {
	cases := []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"go1.26.8", 1, 26, true},
		{"go1.21rc2", 1, 21, true},
		{"go1.22.0 X:boringcrypto", 1, 22, true},
		{"devel go1.27-4a5b6c7d8e Tue Jan 1 00:00:00 2026 +0000", 1, 27, true},
		{"go1.9", 1, 9, true},
		{"go2.0", 2, 0, true},
		{"", 0, 0, false},
		{"go", 0, 0, false},
		{"go1", 0, 0, false},
		{"go1.", 0, 0, false},
		{"1.26.8", 0, 0, false},
		{"devel +abcdef", 0, 0, false},
		{"go1.99999999999999999999", 0, 0, false},
	}
	for _, c := range cases {
		major, minor, ok := ParseGoVersion(c.in)
		if major != c.major || minor != c.minor || ok != c.ok {
			t.Errorf("ParseGoVersion(%q) = %d, %d, %v; want %d, %d, %v", c.in, major, minor, ok, c.major, c.minor, c.ok)
		}
	}
}

// With profilealloc unavailable, the later reader stages (nextSample,
// mallocgc and its 1.24+ variants) must find the same variable.
func TestMemProfileRateFallbackReaders(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		b := localBinary(t, fixture{GOARCH: arch})
		sym, ok := b.dataSymbol("runtime.MemProfileRate")
		if !ok {
			t.Fatal("no runtime.MemProfileRate symbol")
		}
		addr, why, err := decodeMemProfileRate(doctored{Binary: b, hide: "runtime.profilealloc"})
		if err != nil || addr != sym.Value || strings.Contains(why, "profilealloc") {
			t.Errorf("%s: got %#x (%s), %v; want %#x from another reader", arch, addr, why, err, sym.Value)
		}
		t.Logf("%s: %s", arch, why)
	}
}

// TestUnknownVersion patches a fixture's version strings to a release not
// in the tables: its hooks resolve, by decoding alone, to the same sites;
// a copy with one hook's frame setup overwritten is refused, naming that
// hook.
func TestUnknownVersion(t *testing.T) {
	v := localGoVersion(t)
	major, minor, ok := ParseGoVersion(v)
	if !ok || major != 1 || minor < 10 {
		t.Fatalf("cannot patch version %q", v)
	}
	patched := strings.Replace(v, fmt.Sprintf("go1.%d", minor), "go1.99", 1) // same length
	if KnownVersion(patched) || !KnownVersion(v) {
		t.Fatalf("KnownVersion(%q) = %v, KnownVersion(%q) = %v", patched, KnownVersion(patched), v, KnownVersion(v))
	}
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			orig := localBinary(t, fixture{GOARCH: arch})
			want, err := orig.ResolveHooks()
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(orig.Path())
			if err != nil {
				t.Fatal(err)
			}
			data = bytes.ReplaceAll(data, []byte(v), []byte(patched))
			b := openBytes(t, data)
			h, err := b.ResolveHooks()
			if err != nil {
				t.Fatalf("%s: %v", patched, err)
			}
			if h.GoVersion != patched || !strings.Contains(h.SpecialKindWhy, "is not in the table") {
				t.Errorf("version %q, special kind %q: want %s decoded without the table", h.GoVersion, h.SpecialKindWhy, patched)
			}
			sameCode(t, &Hooks{GoVersion: patched, ProfileAlloc: want.ProfileAlloc, SetProfileBucket: want.SetProfileBucket,
				FreeSpecial: want.FreeSpecial, GCMarkTermination: want.GCMarkTermination,
				SpecialKindOffset: want.SpecialKindOffset, SpecialKindProfile: want.SpecialKindProfile}, h)
			for _, hk := range []Hook{h.ProfileAlloc, h.SetProfileBucket, h.FreeSpecial, h.GCMarkTermination} {
				bad := bytes.Clone(data)
				if arch == "amd64" {
					bad[hk.FileOffset] = 0x90 // NOP for PUSHQ BP
				} else {
					binary.LittleEndian.PutUint32(bad[hk.FileOffset-4:], 0xd503201f) // NOP for SUB $8, RSP, R29
				}
				_, err := openBytes(t, bad).ResolveHooks()
				if err == nil || !strings.HasPrefix(err.Error(), hk.Name+": ") || !strings.Contains(err.Error(), "prologue: unexpected") {
					t.Errorf("%s corrupted: got %v, want a refusal naming it", hk.Name, err)
				}
			}
		})
	}
}

// openBytes writes data to a file and opens it.
func openBytes(t *testing.T, data []byte) *Binary {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
