package gobin

import (
	"debug/elf"
	"errors"
	"fmt"
)

// Word indexes of the runtime.moduledata fields read here
// (runtime/symtab.go, cmd/link/internal/ld/symtab.go). Slices take three
// words: pointer, length, capacity.
const (
	mdPcHeader    = 0
	mdFuncnametab = 1
	mdCutab       = 4
	mdFiletab     = 7
	mdPctab       = 10
	mdPclntable   = 13
	mdFtab        = 16
	mdMinPC       = 20
	mdMaxPC       = 21
	mdText        = 22
	// gofunc follows text, etext, noptrdata, enoptrdata, data, edata,
	// bss, ebss, noptrbss, enoptrbss, [covctrs, ecovctrs (go1.20+)],
	// end, gcdata, gcbss, types, [typedesclen (go1.27+)], etypes,
	// [itaboffset, itabsize (go1.27+)] and rodata, which is always the
	// word before it.
	mdGofunc118 = 38 // go1.18 - go1.19
	mdGofunc120 = 40 // go1.20 - go1.26
	mdGofunc127 = 43 // go1.27
)

// maxModuledataCandidates bounds the work spent on words that merely look
// like a pointer to the pclntab header.
const maxModuledataCandidates = 64

// moduledata is what this package needs from runtime.firstmoduledata.
type moduledata struct {
	addr   uint64
	text   uint64    // runtime.text: the base of function entry offsets
	gofunc uint64    // go:func.*: the base of funcdata offsets
	lens   [5]uint64 // funcnametab, cutab (in uint32s), filetab, pctab, pclntable
	// types, etypes: the type descriptors' section, [types, etypes).
	types, etypes uint64
}

// errNoModuledata is returned when no verified moduledata exists.
var errNoModuledata = errors.New("runtime.firstmoduledata not found")

// findModuledata locates runtime.firstmoduledata without symbols: it is
// the only data that starts with a pointer to the pclntab header, so every
// such pointer-aligned word in writable segments (or, in PIE binaries, every
// relative relocation producing that value) is a candidate, and a candidate
// counts only if its other fields agree with the pclntab.
func findModuledata(im *image, t *pclntab) (moduledata, error) {
	var cands []uint64
	add := func(addr uint64) bool {
		for _, c := range cands {
			if c == addr {
				return true
			}
		}
		cands = append(cands, addr)
		return len(cands) < maxModuledataCandidates
	}
	writable := func(p elf.ProgHeader) bool { return p.Flags&elf.PF_W != 0 }
	if err := im.scanWords(writable, func(addr, v uint64) bool {
		return v != t.addr || add(addr)
	}); err != nil {
		return moduledata{}, fmt.Errorf("scanning data for moduledata: %w", err)
	}
	if len(cands) < maxModuledataCandidates {
		if err := im.forEachRelative(func(target, addend uint64) bool {
			return addend != t.addr || add(target)
		}); err != nil {
			return moduledata{}, fmt.Errorf("scanning relocations for moduledata: %w", err)
		}
	}
	for _, addr := range cands {
		if md, ok := checkModuledata(im, t, addr); ok {
			return md, nil
		}
	}
	return moduledata{}, errNoModuledata
}

// checkModuledata reads the moduledata candidate at addr and verifies it
// against the pclntab header.
func checkModuledata(im *image, t *pclntab, addr uint64) (moduledata, bool) {
	// The pclntab magic tells go1.18-19 from later releases, not where
	// gofunc is since go1.20: each layout is tried, and the one whose
	// rodata and gofunc are both in the file with gofunc inside rodata
	// wins (in the other layout those words are offsets, sizes or slice
	// lengths).
	layouts := []int{mdGofunc120, mdGofunc127}
	if t.magic == magic118 {
		layouts = []int{mdGofunc118}
	}
	w, err := im.readWords(addr, layouts[len(layouts)-1]+1)
	if err != nil || w[mdPcHeader] != t.addr {
		return moduledata{}, false
	}
	for i, idx := range []int{mdFuncnametab, mdCutab, mdFiletab, mdPctab, mdPclntable} {
		if w[idx] != t.addr+t.offsets[i] {
			return moduledata{}, false
		}
	}
	if w[mdFtab] != t.addr+t.offsets[4] || w[mdFtab+1] != uint64(t.nfunc)+1 {
		return moduledata{}, false
	}
	text := w[mdText]
	first, _ := t.ftabEntry(0)
	last, _ := t.ftabEntry(t.nfunc)
	if w[mdMinPC] != text+uint64(first) || w[mdMaxPC] != text+uint64(last) {
		return moduledata{}, false
	}
	if t.headerText != 0 && t.headerText != text {
		return moduledata{}, false
	}
	gofunc, ok := uint64(0), false
	var types, etypes uint64
	for _, idx := range layouts {
		rodata := w[idx-1]
		_, _, rodataOK := im.fileRange(rodata)
		_, _, gofuncOK := im.fileRange(w[idx])
		if rodataOK && gofuncOK && rodata <= w[idx] {
			gofunc, ok = w[idx], true
			types, etypes = typesWords(w, idx)
			break
		}
	}
	if !ok {
		return moduledata{}, false
	}
	return moduledata{
		addr:   addr,
		text:   text,
		gofunc: gofunc,
		types:  types,
		etypes: etypes,
		lens: [5]uint64{
			w[mdFuncnametab+1], w[mdCutab+1], w[mdFiletab+1], w[mdPctab+1], w[mdPclntable+1],
		},
	}, true
}
