package gobin

import (
	"debug/elf"
	"fmt"
)

// maxCodeSize bounds how much of one function Code reads: the largest runtime
// functions are tens of KiB, so anything beyond this is a corrupt size.
const maxCodeSize = 4 << 20

// Segment is a loadable (PT_LOAD) segment of an ELF file.
type Segment struct {
	Vaddr  uint64 // link-time address
	Offset uint64 // in the file
	Filesz uint64
	Memsz  uint64
	Exec   bool
}

// Segments returns the loadable segments, for computing a load bias.
func (b *Binary) Segments() []Segment { return append([]Segment(nil), b.segments...) }

// FileOffset maps a link-time virtual address to its offset in the file, via
// the PT_LOAD segment that contains it. cilium/ebpf's UprobeOptions.Address
// takes such a file offset.
func (b *Binary) FileOffset(vaddr uint64) (uint64, error) {
	off, err := b.fileRange(vaddr, 1)
	if err != nil {
		return 0, err
	}
	return off, nil
}

// fileRange maps [vaddr, vaddr+n) to a file offset; the whole range must be
// file-backed by a single PT_LOAD segment and lie inside the file.
func (b *Binary) fileRange(vaddr, n uint64) (uint64, error) {
	if n == 0 {
		return 0, fmt.Errorf("empty range at %#x", vaddr)
	}
	size := uint64(b.im.size)
	for _, p := range b.im.loads {
		if vaddr < p.Vaddr {
			continue
		}
		rel := vaddr - p.Vaddr
		if rel >= p.Filesz {
			continue
		}
		if n > p.Filesz-rel {
			return 0, fmt.Errorf("range %#x+%#x crosses the end of its segment", vaddr, n)
		}
		off := p.Off + rel
		if off < p.Off || off > size || n > size-off {
			return 0, fmt.Errorf("range %#x+%#x lies beyond the end of the file", vaddr, n)
		}
		return off, nil
	}
	return 0, fmt.Errorf("address %#x is not in a file-backed PT_LOAD segment", vaddr)
}

// readVaddr reads n bytes at a link-time address. Callers keep n small or
// bounded; fileRange has already checked it against the file size.
func (b *Binary) readVaddr(vaddr, n uint64) ([]byte, error) {
	off, err := b.fileRange(vaddr, n)
	if err != nil {
		return nil, err
	}
	buf, err := b.im.readFile(off, n)
	if err != nil {
		return nil, fmt.Errorf("read %#x+%#x: %w", vaddr, n, err)
	}
	return buf, nil
}

// Code returns the machine code of f, [Entry, End).
func (b *Binary) Code(f Func) ([]byte, error) {
	if f.End <= f.Entry {
		return nil, fmt.Errorf("%s: empty or inverted range %#x-%#x", f.Name, f.Entry, f.End)
	}
	if f.End-f.Entry > maxCodeSize {
		return nil, fmt.Errorf("%s: implausible size %d", f.Name, f.End-f.Entry)
	}
	code, err := b.readVaddr(f.Entry, f.End-f.Entry)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return code, nil
}

// sectionHolding returns the allocated section that contains
// [vaddr, vaddr+n), or nil.
func (b *Binary) sectionHolding(vaddr, n uint64) *elf.Section {
	for _, s := range b.im.f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || vaddr < s.Addr {
			continue
		}
		if rel := vaddr - s.Addr; rel < s.Size && n <= s.Size-rel {
			return s
		}
	}
	return nil
}

// sectionData reads a whole section after checking its size against the
// file, so a corrupt header cannot request a huge allocation.
func (b *Binary) sectionData(name string) ([]byte, error) {
	s := b.im.f.Section(name)
	if s == nil {
		return nil, fmt.Errorf("no %s section: %w", name, ErrNotFound)
	}
	if s.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("%s has no file data", name)
	}
	if s.Flags&elf.SHF_COMPRESSED != 0 {
		// The linker never compresses the sections read here, and inflating
		// would let a small file ask for an unbounded buffer.
		return nil, fmt.Errorf("%s is compressed", name)
	}
	if s.Offset > uint64(b.im.size) || s.Size > uint64(b.im.size)-s.Offset {
		return nil, fmt.Errorf("%s: size %d at offset %d exceeds the file", name, s.Size, s.Offset)
	}
	var data []byte
	err := safely("read "+name, func() error {
		var err error
		data, err = s.Data()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}
