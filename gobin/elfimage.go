package gobin

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// image reads the loadable contents of an ELF file by link-time virtual
// address, the way the loader would lay them out, without trusting any size
// in the headers: every read is checked against the real file size first, so
// a corrupt header cannot make us allocate more than the file holds.
type image struct {
	f       *elf.File
	r       io.ReaderAt
	size    int64 // of the file, from stat
	order   binary.ByteOrder
	ptrSize int
	loads   []elf.ProgHeader // PT_LOAD segments
}

func newImage(r io.ReaderAt, size int64) (*image, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("parsing elf: %w", err)
	}
	im := &image{f: f, r: r, size: size, order: f.ByteOrder}
	switch f.Class {
	case elf.ELFCLASS64:
		im.ptrSize = 8
	case elf.ELFCLASS32:
		im.ptrSize = 4
	default:
		return nil, fmt.Errorf("unknown elf class %v", f.Class)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			im.loads = append(im.loads, p.ProgHeader)
		}
	}
	return im, nil
}

// errOutside reports an address or file range that the file does not back.
var errOutside = errors.New("range not backed by the file")

// readFile reads n bytes at file offset off.
func (im *image) readFile(off, n uint64) ([]byte, error) {
	if off > uint64(im.size) || n > uint64(im.size)-off {
		return nil, fmt.Errorf("reading %d bytes at file offset %#x: %w", n, off, errOutside)
	}
	buf := make([]byte, n)
	if _, err := im.r.ReadAt(buf, int64(off)); err != nil {
		return nil, fmt.Errorf("reading %d bytes at file offset %#x: %w", n, off, err)
	}
	return buf, nil
}

// fileRange returns the file offset of addr and how many bytes from there on
// the same segment takes from the file.
func (im *image) fileRange(addr uint64) (off, avail uint64, ok bool) {
	for _, p := range im.loads {
		if addr >= p.Vaddr && addr-p.Vaddr < p.Filesz {
			return p.Off + (addr - p.Vaddr), p.Filesz - (addr - p.Vaddr), true
		}
	}
	return 0, 0, false
}

// read reads n bytes at link-time address addr from one segment.
func (im *image) read(addr, n uint64) ([]byte, error) {
	off, avail, ok := im.fileRange(addr)
	if !ok || n > avail {
		return nil, fmt.Errorf("reading %d bytes at %#x: %w", n, addr, errOutside)
	}
	return im.readFile(off, n)
}

// readRest reads from addr to the end of the section holding it (or of its
// segment, when the file has no section headers), at most max bytes.
func (im *image) readRest(addr, max uint64) ([]byte, error) {
	end := uint64(0)
	for _, s := range im.f.Sections {
		if s.Type != elf.SHT_NOBITS && s.Flags&elf.SHF_ALLOC != 0 && addr >= s.Addr && addr-s.Addr < s.Size {
			end = s.Addr + s.Size
			break
		}
	}
	_, avail, ok := im.fileRange(addr)
	if !ok {
		return nil, fmt.Errorf("reading at %#x: %w", addr, errOutside)
	}
	if end != 0 && end-addr < avail {
		avail = end - addr
	}
	if avail > max {
		avail = max
	}
	return im.read(addr, avail)
}

// word decodes a pointer-sized value.
func (im *image) word(b []byte) uint64 {
	if im.ptrSize == 8 {
		return im.order.Uint64(b)
	}
	return uint64(im.order.Uint32(b))
}

// section returns the contents and address of the first named section
// that exists and occupies file space.
func (im *image) section(names ...string) (data []byte, addr uint64, err error) {
	for _, name := range names {
		s := im.f.Section(name)
		if s == nil || s.Type == elf.SHT_NOBITS {
			continue
		}
		data, err := im.readFile(s.Offset, s.Size)
		if err != nil {
			return nil, 0, fmt.Errorf("reading section %s: %w", name, err)
		}
		return data, s.Addr, nil
	}
	return nil, 0, nil
}

// scanChunk is how much of a segment is read at once when scanning it.
const scanChunk = 1 << 20

// scanWords calls fn with the address of every pointer-aligned word in the
// file-backed part of the segments that keep matches, reading a bounded chunk
// at a time. fn returns false to stop.
func (im *image) scanWords(keep func(elf.ProgHeader) bool, fn func(addr, value uint64) bool) error {
	ps := uint64(im.ptrSize)
	for _, p := range im.loads {
		if !keep(p) {
			continue
		}
		start := (p.Vaddr + ps - 1) &^ (ps - 1)
		end := p.Vaddr + p.Filesz
		for addr := start; addr+ps <= end; {
			n := end - addr
			if n > scanChunk {
				n = scanChunk
			}
			n -= n % ps
			buf, err := im.read(addr, n)
			if err != nil {
				return err
			}
			for i := uint64(0); i < n; i += ps {
				if !fn(addr+i, im.word(buf[i:])) {
					return nil
				}
			}
			addr += n
		}
	}
	return nil
}
