package retention

import (
	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/goroutines"
)

// Executable is what this package needs from the target's binary: what
// the goroutine reader needs, plus segments and variable names. Every
// address is a link-time one.
type Executable interface {
	goroutines.Executable
	// Section is the address range of an allocated section (".data").
	Section(name string) (addr, size uint64, ok bool)
	// DataSymbols are the variables of the symbol table sorted by
	// address (nil when stripped).
	DataSymbols() []gobin.DataSymbol
	// Position is the innermost logical function at pc (the inlined
	// one, if any) and its source position ("" when unknown).
	Position(pc uint64) (function, file string, line int)
	// FrameMap is the garbage collector's map of a frame stopped at pc
	// (gobin.ErrNoStackMap where there is none).
	FrameMap(pc uint64) (gobin.FrameMap, error)
}

// FromGobin adapts a gobin.Binary.
func FromGobin(b *gobin.Binary) Executable { return gobinExe{goroutines.FromGobin(b), b} }

type gobinExe struct {
	goroutines.Executable
	b *gobin.Binary
}

func (e gobinExe) Section(name string) (uint64, uint64, bool) { return e.b.Section(name) }
func (e gobinExe) DataSymbols() []gobin.DataSymbol            { return e.b.DataSymbols() }
func (e gobinExe) FrameMap(pc uint64) (gobin.FrameMap, error) { return e.b.FrameMap(pc) }

func (e gobinExe) Position(pc uint64) (string, string, int) {
	fr := e.b.Expand(pc)
	if len(fr) == 0 {
		return "", "", 0
	}
	return fr[0].Function, fr[0].File, fr[0].Line
}
