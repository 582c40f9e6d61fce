package gobin

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
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

// Binary is an opened Go ELF executable: the one reader of its segments,
// build information, symbol table and Go function table. Its methods are
// safe for concurrent use.
type Binary struct {
	path      string
	closer    io.Closer // the file, if Open opened it
	im        *image
	arch      string
	goVersion string
	buildID   string
	segments  []Segment

	// Loaded on first use, once each.
	symtab      func() (*symbols, error)
	funcs       func() (*funcTable, error)
	funcsByName func() map[string]Func

	memo memo // expanded PCs, for symbolization
}

// Open opens the ELF file at path (typically /proc/PID/exe) and checks that
// it is a Go binary for a supported architecture. Open parses only the
// headers and the build information; the symbol table and the Go function
// table are read on first use. Share binaries through a Cache instead of
// opening one executable again.
func Open(path string) (*Binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	b, err := newBinary(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b.closer = f
	return b, nil
}

// newBinary reads the Go executable in r, which holds size bytes and was
// opened as path.
func newBinary(r io.ReaderAt, size int64, path string) (*Binary, error) {
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil || !bytes.Equal(magic[:], []byte(elf.ELFMAG)) {
		return nil, ErrNotELF
	}
	var im *image
	err := safely("parse ELF", func() error {
		var err error
		im, err = newImage(r, size)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotELF, err)
	}
	ef := im.f
	if ef.Class != elf.ELFCLASS64 || ef.Data != elf.ELFDATA2LSB {
		return nil, fmt.Errorf("%w: %v %v", ErrUnsupportedArch, ef.Class, ef.Data)
	}
	b := &Binary{path: path, im: im}
	b.symtab = sync.OnceValues(b.loadSymtab)
	b.funcs = sync.OnceValues(b.loadFuncTable)
	b.funcsByName = sync.OnceValue(b.indexFuncNames)
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
	for _, p := range im.loads {
		b.segments = append(b.segments, Segment{
			Vaddr: p.Vaddr, Offset: p.Off, Filesz: p.Filesz, Memsz: p.Memsz,
			Exec: p.Flags&elf.PF_X != 0,
		})
	}
	b.buildID = readBuildID(im)
	b.goVersion = b.readGoVersion()
	return b, nil
}

// Close releases the file Open opened. Binaries from a Cache are shared:
// do not close them.
func (b *Binary) Close() error {
	if b.closer == nil {
		return nil
	}
	return b.closer.Close()
}

// Path is the path the binary was opened from; for one shared by a Cache,
// the path it was first opened from.
func (b *Binary) Path() string { return b.path }

// Arch is "amd64" or "arm64".
func (b *Binary) Arch() string { return b.arch }

// GoVersion is the toolchain version that built the binary, such as
// "go1.26.8", or "" when it cannot be determined (see readGoVersion).
func (b *Binary) GoVersion() string { return b.goVersion }

// BuildID returns the GNU build ID as "gnu:<hex>", else the Go build ID
// as "go:<id>", else "".
func (b *Binary) BuildID() string { return b.buildID }

// PIE reports whether the binary is position independent (ET_DYN): its
// link-time addresses are then offsets from a load bias chosen at exec time.
func (b *Binary) PIE() bool { return b.im.f.Type == elf.ET_DYN }

// Stripped reports whether the binary has no .symtab (e.g. -ldflags=-s).
func (b *Binary) Stripped() bool { return b.im.f.Section(".symtab") == nil }

// pclntabSection finds the Go function table. PIE binaries from Go <= 1.20
// keep it in .data.rel.ro.gopclntab (it needed relocations there).
func (b *Binary) pclntabSection() *elf.Section {
	for _, name := range []string{".gopclntab", ".data.rel.ro.gopclntab"} {
		if s := b.im.f.Section(name); s != nil {
			return s
		}
	}
	return nil
}

// safely runs fn, turning a panic into an error: debug/elf and
// debug/buildinfo are not hardened against every malformed input.
func safely(what string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: malformed input (%v)", what, r)
		}
	}()
	return fn()
}
