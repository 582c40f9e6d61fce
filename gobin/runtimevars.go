package gobin

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
