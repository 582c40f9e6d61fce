package gobin

import (
	"bytes"
	"debug/elf"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds arbitrary files to Open and, when they open, to everything
// that reads them (hook decoding, build ID, moduledata search, pclntab,
// inline trees): nothing may panic or hang.
func FuzzOpen(f *testing.F) {
	f.Add([]byte("\x7fELF"))
	f.Add([]byte("#!/bin/sh\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "bin")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := Open(path)
		if err != nil {
			return
		}
		defer b.Close()
		_ = b.Arch() + b.GoVersion()
		_, _ = b.PIE(), b.Stripped()
		if fn, err := b.Function("runtime.profilealloc"); err == nil {
			_, _ = b.Code(fn)
			_, _ = b.FileOffset(fn.Entry)
		}
		_, _ = b.ResolveHooks()
		_ = b.BuildID()
		if b.LoadFuncTable() == nil {
			for _, s := range b.Segments() {
				_ = b.Expand(s.Vaddr)
				_ = b.Expand(s.Vaddr + 1)
			}
		}
	})
}

// FuzzAttachPoint feeds arbitrary code to the prologue decoders and the
// other code scanners of both architectures.
func FuzzAttachPoint(f *testing.F) {
	for _, c := range prologueCases {
		f.Add(c.code)
	}
	f.Fuzz(func(t *testing.T, code []byte) {
		for _, arch := range []string{"amd64", "arm64"} {
			ap, err := findAttachPoint(arch, code, 0x401000)
			if err == nil && (ap.off >= uint64(len(code)) || arch == "arm64" && ap.off%4 != 0) {
				t.Errorf("%s: attach offset %#x in %d bytes", arch, ap.off, len(code))
			}
			_, _ = kindStores(arch, code, 0x401000)
			_, _ = globalRefs(arch, code, 0x401000)
			_ = hasImmediate(arch, code, memProfileRateInit)
		}
	})
}

// TestCorruptedBinaries flips bytes of a real fixture where it hurts most
// (headers, pclntab, the hooked functions' code, .noptrdata) and requires
// Open and ResolveHooks to fail or succeed cleanly: deeper than the fuzz
// seeds reach without a multi-megabyte corpus.
func TestCorruptedBinaries(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		orig, err := os.ReadFile(buildFixture(t, fixture{GOARCH: arch, LDFlags: ldStripped}))
		if err != nil {
			t.Fatal(err)
		}
		ef, err := elf.NewFile(bytes.NewReader(orig))
		if err != nil {
			t.Fatal(err)
		}
		var regions [][2]uint64 // file ranges to corrupt
		regions = append(regions, [2]uint64{0, 0x1000})
		for _, name := range []string{".gopclntab", ".noptrdata", ".go.buildinfo"} {
			if s := ef.Section(name); s != nil {
				regions = append(regions, [2]uint64{s.Offset, min(s.Size, 0x4000)})
			}
		}
		b, err := Open(buildFixture(t, fixture{GOARCH: arch, LDFlags: ldStripped}))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"runtime.profilealloc", "runtime.setprofilebucket", "runtime.freeSpecial"} {
			fn, err := b.Function(name)
			if err != nil {
				t.Fatal(err)
			}
			off, _ := b.FileOffset(fn.Entry)
			regions = append(regions, [2]uint64{off, fn.End - fn.Entry})
		}
		b.Close()

		rng := rand.New(rand.NewPCG(1, uint64(len(orig))))
		n := 300
		if testing.Short() {
			n = 40
		}
		path := filepath.Join(t.TempDir(), "bin")
		failed := 0
		for i := 0; i < n; i++ {
			data := bytes.Clone(orig)
			r := regions[i%len(regions)]
			for j := 0; j < 1+rng.IntN(8); j++ {
				data[r[0]+rng.Uint64N(r[1])] = byte(rng.Uint32())
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			b, err := Open(path)
			if err != nil {
				failed++
				continue
			}
			if _, err := b.ResolveHooks(); err != nil {
				failed++
			}
			b.Close()
		}
		t.Logf("%s: %d of %d corrupted copies were rejected", arch, failed, n)
	}
}
