package gobin

import (
	"debug/elf"
)

// relativeType is the "base + addend" dynamic relocation of each machine:
// the only kind that fills pointers into a position-independent
// executable's own data, such as runtime.firstmoduledata.
var relativeType = map[elf.Machine]uint32{
	elf.EM_X86_64:    uint32(elf.R_X86_64_RELATIVE),
	elf.EM_AARCH64:   uint32(elf.R_AARCH64_RELATIVE),
	elf.EM_386:       uint32(elf.R_386_RELATIVE),
	elf.EM_ARM:       uint32(elf.R_ARM_RELATIVE),
	elf.EM_RISCV:     uint32(elf.R_RISCV_RELATIVE),
	elf.EM_PPC64:     uint32(elf.R_PPC64_RELATIVE),
	elf.EM_S390:      uint32(elf.R_390_RELATIVE),
	elf.EM_LOONGARCH: uint32(elf.R_LARCH_RELATIVE),
}

// forEachRelative calls fn(target, addend) for each RELA relative
// relocation, streaming the tables in bounded chunks. With RELA the linker
// need not store the pointer in the file at all (Go's internal linker leaves
// zeros there in PIE binaries), so the addend is the link-time value of the
// pointer. REL and RELR keep the value in place and need no lookup.
// fn returns false to stop.
func (im *image) forEachRelative(fn func(target, addend uint64) bool) error {
	rel, ok := relativeType[im.f.Machine]
	if !ok {
		return nil
	}
	entSize := uint64(24)
	if im.ptrSize == 4 {
		entSize = 12
	}
	for _, s := range im.f.Sections {
		if s.Type != elf.SHT_RELA {
			continue
		}
		for done := uint64(0); done+entSize <= s.Size; {
			n := s.Size - done
			if n > scanChunk {
				n = scanChunk
			}
			n -= n % entSize
			if s.Offset > uint64(im.size) || done > uint64(im.size)-s.Offset {
				return errOutside
			}
			buf, err := im.readFile(s.Offset+done, n)
			if err != nil {
				return err
			}
			for i := uint64(0); i < n; i += entSize {
				e := buf[i : i+entSize]
				var target, addend uint64
				var typ uint32
				if im.ptrSize == 8 {
					target = im.order.Uint64(e)
					info := im.order.Uint64(e[8:])
					typ = uint32(info)
					addend = im.order.Uint64(e[16:])
				} else {
					target = uint64(im.order.Uint32(e))
					info := im.order.Uint32(e[4:])
					typ = info & 0xff
					addend = uint64(int64(int32(im.order.Uint32(e[8:])))) & 0xffffffff
				}
				if typ == rel && !fn(target, addend) {
					return nil
				}
			}
			done += n
		}
	}
	return nil
}

// readWords reads n pointer-sized words at addr with relative relocations
// applied, so that they hold link-time addresses in PIE binaries too.
func (im *image) readWords(addr uint64, n int) ([]uint64, error) {
	ps := uint64(im.ptrSize)
	buf, err := im.read(addr, uint64(n)*ps)
	if err != nil {
		return nil, err
	}
	words := make([]uint64, n)
	for i := range words {
		words[i] = im.word(buf[uint64(i)*ps:])
	}
	end := addr + uint64(n)*ps
	err = im.forEachRelative(func(target, addend uint64) bool {
		if target >= addr && target < end && (target-addr)%ps == 0 {
			words[(target-addr)/ps] = addend
		}
		return true
	})
	return words, err
}
