package retention

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoMheap means runtime.mheap_ could not be located or its arenas did
// not verify: the retention part stays off for that target.
var ErrNoMheap = errors.New("runtime.mheap_ not located")

// Arenas is where mheap_.arenas (the arena index: [L1]*[L2]*heapArena)
// sits at link time, and how it was found.
type Arenas struct {
	Addr uint64
	How  string
}

// LocateArenas finds &mheap_.arenas: from the symbol table when present,
// else from runtime.findObject, whose first data reference is the arena
// index (spanOf inlined: mheap_.arenas[ri.l1()]). Where both exist they
// must agree with the layout's offset of arenas in mheap: a disagreement
// means the table does not fit this binary.
func LocateArenas(exe Executable, l *HeapLayout) (Arenas, error) {
	decoded, derr := decodedArenas(exe)
	if sym, _, ok := exe.DataSymbol("runtime.mheap_"); ok {
		a := sym + l.MheapArenas
		switch {
		case derr != nil:
			return Arenas{a, "symbol table (runtime.findObject not decoded: " + derr.Error() + ")"}, nil
		case decoded != a:
			return Arenas{}, fmt.Errorf("%w: runtime.findObject reads the arena index at %#x, but mheap_ (%#x) + arenas (%#x) is %#x: the %s layout does not fit", ErrNoMheap, decoded, sym, l.MheapArenas, a, l.Release)
		}
		return Arenas{a, "symbol table, confirmed by decoding runtime.findObject"}, nil
	}
	if derr != nil {
		return Arenas{}, fmt.Errorf("%w: no symbol, and %w", ErrNoMheap, derr)
	}
	return Arenas{decoded, "decoded from runtime.findObject"}, nil
}

// decodedArenas is the first reference of runtime.findObject into a
// pointer-free bss section (mheap_ is not scanned by the GC).
func decodedArenas(exe Executable) (uint64, error) {
	refs, err := exe.GlobalRefs("runtime.findObject")
	if err != nil {
		return 0, fmt.Errorf("runtime.findObject cannot be decoded: %w", err)
	}
	for _, r := range refs {
		if sec := exe.SectionName(r); strings.HasSuffix(sec, "bss") {
			return r, nil
		}
	}
	return 0, fmt.Errorf("runtime.findObject refers to no bss variable (%d references)", len(refs))
}
