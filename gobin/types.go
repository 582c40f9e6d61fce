package gobin

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// typesWords are moduledata's types and etypes, given the index of its
// gofunc word: types, [typedesclen (go1.27+)], etypes, [itaboffset,
// itabsize (go1.27+)], rodata, gofunc.
func typesWords(w []uint64, gofunc int) (types, etypes uint64) {
	if gofunc == mdGofunc127 {
		return w[gofunc-6], w[gofunc-4]
	}
	return w[gofunc-3], w[gofunc-2]
}

// ErrNotAType means an address is not inside the binary's type
// descriptors (moduledata's [types, etypes)).
var ErrNotAType = errors.New("not a type descriptor of the binary")

// TypeSection is moduledata's [types, etypes): where every type
// descriptor (runtime._type, internal/abi.Type) of the binary lies, found
// without symbols like the rest of moduledata.
func (b *Binary) TypeSection() (start, end uint64, err error) {
	ft, err := b.funcs()
	if err != nil {
		return 0, 0, err
	}
	if ft.types == 0 {
		return 0, 0, fmt.Errorf("%w: moduledata's types section did not validate", ErrNotFound)
	}
	return ft.types, ft.etypes, nil
}

// TypeFields are the offsets in a type descriptor of the fields TypeName
// reads; they change between releases (callers take them from DWARF
// tables).
type TypeFields struct {
	Size  uint64 // Size_ (uintptr)
	TFlag uint64 // TFlag (uint8)
	Str   uint64 // Str (nameOff: int32 offset from types)
	// ExtraStar is the TFlag bit saying the name is stored with a '*' in
	// front that the type does not have (internal/abi.TFlagExtraStar).
	ExtraStar uint8
}

// TypeName reads the type descriptor at the link-time address typ: its
// name ("main.session", "noalg.map.group[string]*main.Session") and size.
// typ must lie in the types section; the error wraps ErrNotAType when not.
// A type's name is a byte of flags, a varint length, then the bytes.
func (b *Binary) TypeName(typ uint64, f TypeFields) (name string, size uint64, err error) {
	start, end, err := b.TypeSection()
	if err != nil {
		return "", 0, err
	}
	hdr := max(f.Size+8, f.TFlag+1, f.Str+4)
	if typ < start || typ >= end || end-typ < hdr || typ%8 != 0 {
		return "", 0, fmt.Errorf("%w: %#x outside [%#x, %#x)", ErrNotAType, typ, start, end)
	}
	t, err := b.readVaddr(typ, hdr)
	if err != nil {
		return "", 0, err
	}
	size = binary.LittleEndian.Uint64(t[f.Size:])
	off := int64(int32(binary.LittleEndian.Uint32(t[f.Str:])))
	at := uint64(int64(start) + off)
	if off <= 0 || at >= end {
		return "", 0, fmt.Errorf("%w: name offset %#x of the type at %#x", ErrNotAType, off, typ)
	}
	// Flags, then a varint of at most 3 bytes for any name we accept.
	head, err := b.readVaddr(at, min(4, end-at))
	if err != nil {
		return "", 0, err
	}
	n, w := binary.Uvarint(head[1:])
	if w <= 0 || n == 0 || n > 4096 {
		return "", 0, fmt.Errorf("%w: bad name length at %#x", ErrNotAType, at)
	}
	s, err := b.readVaddr(at+1+uint64(w), n)
	if err != nil {
		return "", 0, err
	}
	name = string(s)
	if t[f.TFlag]&f.ExtraStar != 0 && len(name) > 1 && name[0] == '*' {
		name = name[1:]
	}
	return name, size, nil
}
