package gobin

import (
	"debug/elf"
	"debug/gosym"
	"fmt"
)

// Func is a function's link-time address range [Entry, End).
type Func struct {
	Name       string
	Entry, End uint64
}

// symbols is what gobin keeps from .symtab.
type symbols struct {
	funcs       map[string]Func
	objs        map[string]elf.Symbol // data symbols (STT_OBJECT)
	runtimeText uint64                // runtime.text, a zero-size marker; 0 if absent
}

// pclnIndex wraps the Go runtime's own function table, which survives
// -ldflags=-s -w because the runtime needs it for tracebacks.
type pclnIndex struct {
	table *gosym.Table
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
	pcln, err := b.pclntab()
	if err != nil {
		return Func{}, err
	}
	var f *gosym.Func
	if err := safely("pclntab lookup", func() error {
		f = pcln.table.LookupFunc(name)
		return nil
	}); err != nil {
		return Func{}, err
	}
	if f == nil || f.End <= f.Entry {
		return Func{}, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return Func{Name: name, Entry: f.Entry, End: f.End}, nil
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
	s := b.elf.Section(".symtab")
	if s == nil {
		return nil, fmt.Errorf("no .symtab: %w", ErrNotFound)
	}
	if s.Offset > uint64(b.size) || s.Size > uint64(b.size)-s.Offset {
		return nil, fmt.Errorf(".symtab exceeds the file")
	}
	var list []elf.Symbol
	if err := safely("read .symtab", func() error {
		var err error
		list, err = b.elf.Symbols()
		return err
	}); err != nil {
		return nil, err
	}
	syms := &symbols{funcs: map[string]Func{}, objs: map[string]elf.Symbol{}}
	for _, sym := range list {
		if sym.Name == "runtime.text" {
			syms.runtimeText = sym.Value
		}
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

// loadPclntab parses the Go function table (once, through b.pclntab).
func (b *Binary) loadPclntab() (*pclnIndex, error) {
	s := b.pclntabSection()
	if s == nil {
		return nil, ErrNotGo
	}
	data, err := b.sectionData(s.Name)
	if err != nil {
		return nil, err
	}
	textStart := b.textStart(s, data)
	var table *gosym.Table
	if err := safely("parse .gopclntab", func() error {
		var err error
		table, err = gosym.NewTable(nil, gosym.NewLineTable(data, textStart))
		return err
	}); err != nil {
		return nil, fmt.Errorf("parse .gopclntab: %w", err)
	}
	return &pclnIndex{table: table}, nil
}
