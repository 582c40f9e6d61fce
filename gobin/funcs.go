package gobin

import (
	"debug/elf"
	"fmt"
)

// Func is a function's link-time address range [Entry, End).
type Func struct {
	Name       string
	Entry, End uint64
}

// symbols is what gobin keeps from .symtab.
type symbols struct {
	funcs map[string]Func
	objs  map[string]elf.Symbol // data symbols (STT_OBJECT)
}

// funcTable is the Go runtime's own function table, which survives
// -ldflags=-s -w because the runtime needs it for tracebacks: the pclntab,
// rebased by runtime.firstmoduledata, with the funcdata (inline trees)
// that moduledata.gofunc locates.
type funcTable struct {
	tab        *pclntab
	gofuncData []byte // from go:func.* (moduledata.gofunc) to the end of its section
	ids        specialIDs
	// types, etypes: moduledata's type descriptors' section (0, 0 when
	// it did not validate).
	types, etypes uint64
}

// Function returns the address range of the named function (e.g.
// "runtime.freeSpecial"), from .symtab when present, else from .gopclntab.
// The error wraps ErrNotFound when neither has it.
func (b *Binary) Function(name string) (Func, error) {
	if syms, err := b.symtab(); err == nil {
		if f, ok := syms.funcs[name]; ok {
			return f, nil
		}
	}
	if _, err := b.funcs(); err != nil {
		return Func{}, err
	}
	f, ok := b.funcsByName()[name]
	if !ok || f.End <= f.Entry {
		return Func{}, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return f, nil
}

// LoadFuncTable reads the Go function table (pclntab, moduledata, inline
// trees) if that was not done yet, and says why it cannot be used. Frame
// lookups (Expand) find nothing when it fails.
func (b *Binary) LoadFuncTable() error {
	_, err := b.funcs()
	return err
}

// indexFuncNames maps every function of the pclntab by its name (the first
// one of a name wins, as in debug/gosym).
func (b *Binary) indexFuncNames() map[string]Func {
	ft, err := b.funcs()
	if err != nil {
		return nil
	}
	t := ft.tab
	byName := make(map[string]Func, t.nfunc)
	for i := 0; i < t.nfunc; i++ {
		entryOff, funcOff := t.ftabEntry(i)
		nextOff, _ := t.ftabEntry(i + 1)
		if funcOff == ^uint32(0) || nextOff <= entryOff {
			continue
		}
		f, ok := t.decodeFunc(uint64(funcOff))
		if !ok || f.entry != uint64(entryOff) {
			continue
		}
		name := t.funcName(f.nameOff)
		if _, dup := byName[name]; name == "" || dup {
			continue
		}
		byName[name] = Func{Name: name, Entry: t.text + uint64(entryOff), End: t.text + uint64(nextOff)}
	}
	return byName
}

// dataSymbol returns a data symbol from .symtab; ok is false for stripped
// binaries or unknown names.
func (b *Binary) dataSymbol(name string) (elf.Symbol, bool) {
	syms, err := b.symtab()
	if err != nil {
		return elf.Symbol{}, false
	}
	s, ok := syms.objs[name]
	return s, ok
}

// loadSymtab reads .symtab (once, through b.symtab).
func (b *Binary) loadSymtab() (*symbols, error) {
	s := b.im.f.Section(".symtab")
	if s == nil {
		return nil, fmt.Errorf("no .symtab: %w", ErrNotFound)
	}
	if s.Offset > uint64(b.im.size) || s.Size > uint64(b.im.size)-s.Offset {
		return nil, fmt.Errorf(".symtab exceeds the file")
	}
	var list []elf.Symbol
	if err := safely("read .symtab", func() error {
		var err error
		list, err = b.im.f.Symbols()
		return err
	}); err != nil {
		return nil, err
	}
	syms := &symbols{funcs: map[string]Func{}, objs: map[string]elf.Symbol{}}
	for _, sym := range list {
		switch elf.ST_TYPE(sym.Info) {
		case elf.STT_FUNC:
			if sym.Size > 0 && sym.Value+sym.Size > sym.Value {
				syms.funcs[sym.Name] = Func{Name: sym.Name, Entry: sym.Value, End: sym.Value + sym.Size}
			}
		case elf.STT_OBJECT:
			syms.objs[sym.Name] = sym
		}
	}
	return syms, nil
}

// loadFuncTable decodes the pclntab and finds the moduledata that says
// where its offsets start (once, through b.funcs). The decoder checks
// every bound itself; recover is the last line behind it.
func (b *Binary) loadFuncTable() (ft *funcTable, err error) {
	err = safely("decode the Go function table", func() error {
		ft, err = b.decodeFuncTable()
		return err
	})
	return ft, err
}

func (b *Binary) decodeFuncTable() (*funcTable, error) {
	im := b.im
	s := b.pclntabSection()
	if s == nil {
		return nil, ErrNotGo
	}
	data, err := b.sectionData(s.Name)
	if err != nil {
		return nil, err
	}
	tab, err := parsePclntab(data, s.Addr, im.order)
	if err != nil {
		return nil, err
	}
	md, err := findModuledata(im, tab)
	if err != nil {
		return nil, err
	}
	tab.text = md.text
	tab.trim(md.lens)
	gofunc, err := im.readRest(md.gofunc, uint64(im.size))
	if err != nil {
		return nil, fmt.Errorf("reading go:func.*: %w", err)
	}
	ft := &funcTable{tab: tab, gofuncData: gofunc, ids: findSpecialIDs(tab)}
	if _, _, ok := im.fileRange(md.types); ok && md.types < md.etypes {
		if _, _, ok := im.fileRange(md.etypes - 1); ok {
			ft.types, ft.etypes = md.types, md.etypes
		}
	}
	return ft, nil
}
