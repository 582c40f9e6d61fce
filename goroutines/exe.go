package goroutines

import (
	"fmt"

	"github.com/leakscope/leakscope/gobin"
)

// Executable is what this package needs from the target's binary. Every
// address is a link-time one (subtract the PIE load bias from run-time
// addresses first).
type Executable interface {
	Arch() string      // "amd64" or "arm64"
	GoVersion() string // "go1.26.8", or "" when unknown
	// DataSymbol is a variable's address and size from the symbol table;
	// ok is false in stripped binaries.
	DataSymbol(name string) (addr, size uint64, ok bool)
	// GlobalRefs lists the addresses the code of function fn refers to.
	GlobalRefs(fn string) ([]uint64, error)
	// SectionName names the section holding addr ("" if none).
	SectionName(addr uint64) string
	// TextRange is [lo, hi) of the executable code.
	TextRange() (lo, hi uint64, ok bool)
	// FuncAt names the function holding pc and gives its entry.
	FuncAt(pc uint64) (name string, entry uint64, ok bool)
}

// FromGobin adapts a gobin.Binary.
func FromGobin(b *gobin.Binary) Executable { return gobinExe{b} }

type gobinExe struct{ b *gobin.Binary }

func (e gobinExe) Arch() string      { return e.b.Arch() }
func (e gobinExe) GoVersion() string { return e.b.GoVersion() }

func (e gobinExe) DataSymbol(name string) (uint64, uint64, bool) { return e.b.DataSymbol(name) }

func (e gobinExe) GlobalRefs(fn string) ([]uint64, error) {
	f, err := e.b.Function(fn)
	if err != nil {
		return nil, err
	}
	refs, err := e.b.GlobalRefs(f)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", fn, err)
	}
	return refs, nil
}

func (e gobinExe) SectionName(addr uint64) string { return e.b.SectionName(addr, 1) }

func (e gobinExe) TextRange() (uint64, uint64, bool) { return e.b.TextRange() }

func (e gobinExe) FuncAt(pc uint64) (string, uint64, bool) {
	f, ok := e.b.FuncAt(pc)
	return f.Name, f.Entry, ok
}
