package gobin

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"sync"
)

// Sentinel errors; test with errors.Is.
var (
	ErrNotELF          = errors.New("not an ELF file")
	ErrNotGo           = errors.New("not a Go binary (no .gopclntab)")
	ErrUnsupportedArch = errors.New("unsupported architecture (only amd64 and arm64)")
	ErrNotFound        = errors.New("not found in binary")
)

// Binary is an opened Go ELF executable. Its methods are safe for concurrent
// use.
type Binary struct {
	path      string
	file      *os.File
	size      int64 // file size: the bound for every read
	elf       *elf.File
	arch      string
	goVersion string

	// Loaded on first use, once each.
	symtab  func() (*symbols, error)
	pclntab func() (*pclnIndex, error)
}

// Open opens the ELF file at path (typically /proc/PID/exe) and checks that
// it is a Go binary for a supported architecture.
func Open(path string) (*Binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	b, err := newBinary(f, path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

func newBinary(f *os.File, path string) (*Binary, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat: %w", err)
	}
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || !bytes.Equal(magic[:], []byte(elf.ELFMAG)) {
		return nil, ErrNotELF
	}
	var ef *elf.File
	err = safely("parse ELF", func() error {
		var err error
		ef, err = elf.NewFile(f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotELF, err)
	}
	if ef.Class != elf.ELFCLASS64 || ef.Data != elf.ELFDATA2LSB {
		return nil, fmt.Errorf("%w: %v %v", ErrUnsupportedArch, ef.Class, ef.Data)
	}
	b := &Binary{path: path, file: f, size: st.Size(), elf: ef}
	b.symtab = sync.OnceValues(b.loadSymtab)
	b.pclntab = sync.OnceValues(b.loadPclntab)
	switch ef.Machine {
	case elf.EM_X86_64:
		b.arch = "amd64"
	case elf.EM_AARCH64:
		b.arch = "arm64"
	default:
		return nil, fmt.Errorf("%w: machine %v", ErrUnsupportedArch, ef.Machine)
	}
	if b.pclntabSection() == nil {
		return nil, ErrNotGo
	}
	b.goVersion = b.readGoVersion()
	return b, nil
}

// Close releases the underlying file.
func (b *Binary) Close() error { return b.file.Close() }

// Path is the path the binary was opened from.
func (b *Binary) Path() string { return b.path }

// Arch is "amd64" or "arm64".
func (b *Binary) Arch() string { return b.arch }

// GoVersion is the toolchain version that built the binary, such as
// "go1.26.8", or "" when it cannot be determined (see readGoVersion).
func (b *Binary) GoVersion() string { return b.goVersion }

// PIE reports whether the binary is position independent (ET_DYN): its
// link-time addresses are then offsets from a load bias chosen at exec time.
func (b *Binary) PIE() bool { return b.elf.Type == elf.ET_DYN }

// Stripped reports whether the binary has no .symtab (e.g. -ldflags=-s).
func (b *Binary) Stripped() bool { return b.elf.Section(".symtab") == nil }

// pclntabSection finds the Go function table. PIE binaries from Go <= 1.20
// keep it in .data.rel.ro.gopclntab (it needed relocations there).
func (b *Binary) pclntabSection() *elf.Section {
	for _, name := range []string{".gopclntab", ".data.rel.ro.gopclntab"} {
		if s := b.elf.Section(name); s != nil {
			return s
		}
	}
	return nil
}

// safely runs fn, turning a panic into an error: debug/elf, debug/gosym and
// debug/buildinfo are not hardened against every malformed input.
func safely(what string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: malformed input (%v)", what, r)
		}
	}()
	return fn()
}
