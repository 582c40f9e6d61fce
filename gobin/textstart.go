package gobin

import (
	"debug/elf"
	"encoding/binary"
)

// Function entries in .gopclntab are offsets from runtime.text, which is
// not always the start of .text: with -linkmode=external the C start-up
// code comes first (seen: runtime.text = .text+0x100), and Go 1.21+ no
// longer stores the address in the pclntab header (it reads 0).

// moduledata word indices (runtime/symtab.go, unchanged from 1.16 to 1.26):
// pcHeader; funcnametab, cutab, filetab, pctab, pclntable, ftab (3 words
// each); findfunctab; minpc, maxpc; text, etext; noptrdata, enoptrdata.
const (
	mdPCHeader  = 0
	mdMinPC     = 20
	mdMaxPC     = 21
	mdText      = 22
	mdEText     = 23
	mdNoptrdata = 24
	mdWords     = 25
)

// textStart returns the address that .gopclntab offsets are relative to.
func (b *Binary) textStart(pcln *elf.Section, data []byte) uint64 {
	text := b.elf.Section(".text")
	if text == nil {
		return 0
	}
	inText := func(a uint64) bool { return a >= text.Addr && a-text.Addr < text.Size }
	if syms, err := b.symtab(); err == nil {
		if inText(syms.runtimeText) {
			return syms.runtimeText
		}
	}
	// Go 1.18 - 1.20 header: magic, pad, minLC, ptrSize, nfunc, nfiles, textStart.
	if len(data) >= 8+3*8 && data[7] == 8 {
		if a := binary.LittleEndian.Uint64(data[8+2*8:]); a != 0 && inText(a) {
			return a
		}
	}
	if a, ok := b.moduledataText(pcln.Addr, inText); ok {
		return a
	}
	return text.Addr
}

// moduledataText finds runtime.firstmoduledata, the runtime's own record of
// the text range, as the one word-aligned place in writable data whose
// first word points at the pclntab and whose noptrdata field is .noptrdata.
func (b *Binary) moduledataText(pclnAddr uint64, inText func(uint64) bool) (uint64, bool) {
	noptr := b.elf.Section(".noptrdata")
	if noptr == nil {
		return 0, false
	}
	found, n := uint64(0), 0
	for _, s := range b.elf.Sections {
		if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_ALLOC == 0 || s.Flags&elf.SHF_WRITE == 0 {
			continue
		}
		data, err := b.sectionData(s.Name)
		if err != nil {
			continue
		}
		for off := 0; off+mdWords*8 <= len(data); off += 8 {
			if binary.LittleEndian.Uint64(data[off:]) != pclnAddr {
				continue
			}
			w := func(i int) uint64 { return binary.LittleEndian.Uint64(data[off+8*i:]) }
			if w(mdNoptrdata) != noptr.Addr || !inText(w(mdText)) || w(mdText) > w(mdMinPC) ||
				w(mdMinPC) >= w(mdMaxPC) || w(mdMaxPC) > w(mdEText) {
				continue
			}
			found, n = w(mdText), n+1
		}
	}
	return found, n == 1
}
