package gobin

import (
	"debug/elf"
	"sort"
)

// The methods below expose what finding and checking runtime variables
// from outside needs (goroutines/: runtime.allgs, allglen).

// DataSymbol returns the address and size of a data symbol from .symtab;
// ok is false for stripped binaries or unknown names.
func (b *Binary) DataSymbol(name string) (addr, size uint64, ok bool) {
	s, ok := b.dataSymbol(name)
	return s.Value, s.Size, ok
}

// SectionName names the allocated section holding [vaddr, vaddr+n), or "".
func (b *Binary) SectionName(vaddr, n uint64) string { return b.sectionName(vaddr, n) }

// GlobalRefs lists the link-time addresses that the code of f loads from
// or takes the address of (RIP-relative operands on amd64, ADRP pairs on
// arm64).
func (b *Binary) GlobalRefs(f Func) ([]uint64, error) {
	code, err := b.Code(f)
	if err != nil {
		return nil, err
	}
	return globalRefs(b.arch, code, f.Entry)
}

// TextRange is the link-time address range of .text; ok is false if the
// binary has none.
func (b *Binary) TextRange() (lo, hi uint64, ok bool) {
	s := b.im.f.Section(".text")
	if s == nil || s.Addr+s.Size < s.Addr {
		return 0, 0, false
	}
	return s.Addr, s.Addr + s.Size, true
}

// FuncAt returns the function whose code holds the link-time pc, from
// .gopclntab; ok is false outside every Go function.
func (b *Binary) FuncAt(pc uint64) (Func, bool) {
	ft, err := b.funcs()
	if err != nil {
		return Func{}, false
	}
	f, ok := ft.tab.findFunc(pc)
	if !ok {
		return Func{}, false
	}
	return Func{Name: ft.tab.funcName(f.nameOff), Entry: f.entry, End: f.end}, true
}

// The methods below serve retention/: naming the globals that hold leaked
// objects and scanning the segments that can hold pointers.

// Section returns the link-time address range of the named allocated
// section (".data", ".bss"); ok is false if the binary has none.
func (b *Binary) Section(name string) (addr, size uint64, ok bool) {
	s := b.im.f.Section(name)
	if s == nil || s.Flags&elf.SHF_ALLOC == 0 || s.Addr+s.Size < s.Addr {
		return 0, 0, false
	}
	return s.Addr, s.Size, true
}

// DataSymbol is one variable of the symbol table.
type DataSymbol struct {
	Name       string
	Addr, Size uint64
}

// DataSymbols lists the data symbols (STT_OBJECT) of .symtab sorted by
// address; nil for stripped binaries.
func (b *Binary) DataSymbols() []DataSymbol {
	syms, err := b.symtab()
	if err != nil {
		return nil
	}
	out := make([]DataSymbol, 0, len(syms.objs))
	for _, s := range syms.objs {
		out = append(out, DataSymbol{Name: s.Name, Addr: s.Value, Size: s.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}
