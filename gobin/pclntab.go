package gobin

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// pclntab format versions, named after the first Go release that wrote
// them (internal/abi.PCLnTabMagic).
const (
	magic12  = 0xfffffffb // go1.2 - go1.15
	magic116 = 0xfffffffa // go1.16 - go1.17
	magic118 = 0xfffffff0 // go1.18 - go1.19
	magic120 = 0xfffffff1 // go1.20 and later
)

// Indexes of the tables this package reads (internal/abi, same since 1.18).
const (
	pcdataInlTreeIndex = 2
	funcdataInlTree    = 3
)

// pclntab is a decoded runtime.pcHeader with the tables it points to.
// Offsets inside it are as untrusted as the file: every accessor checks
// bounds and reports failure instead of panicking.
type pclntab struct {
	magic   uint32
	order   binary.ByteOrder
	ptrSize int
	quantum uint32 // minimum instruction size; pc deltas are in these units
	nfunc   int
	// addr is the link-time address of the header; the moduledata
	// search looks for a pointer to it.
	addr uint64
	// headerText is pcHeader.textStart, which is zero when the linker did
	// not store it (go1.26+) or it waits for a dynamic relocation (PIE).
	headerText uint64
	// text is the address function entries are relative to
	// (moduledata.text), set once moduledata is found.
	text uint64

	offsets [5]uint64 // funcname, cu, filetab, pctab, pcln: from the header
	funcnametab,
	cutab,
	filetab,
	pctab,
	pclntable []byte
}

// parsePclntab decodes the header at the start of data, the contents of
// .gopclntab, whose link-time address is addr.
func parsePclntab(data []byte, addr uint64, order binary.ByteOrder) (*pclntab, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("pclntab too short (%d bytes)", len(data))
	}
	t := &pclntab{magic: order.Uint32(data), order: order, addr: addr}
	switch t.magic {
	case magic118, magic120:
	case magic12, magic116:
		return nil, fmt.Errorf("pclntab magic %#x (go1.2 to go1.17) is not supported, go1.18 or later is", t.magic)
	default:
		return nil, fmt.Errorf("no go pclntab (magic %#x)", t.magic)
	}
	if data[4] != 0 || data[5] != 0 {
		return nil, fmt.Errorf("bad pclntab header padding")
	}
	t.quantum = uint32(data[6])
	t.ptrSize = int(data[7])
	if t.quantum != 1 && t.quantum != 2 && t.quantum != 4 {
		return nil, fmt.Errorf("bad pclntab instruction size %d", t.quantum)
	}
	if t.ptrSize != 4 && t.ptrSize != 8 {
		return nil, fmt.Errorf("bad pclntab pointer size %d", t.ptrSize)
	}
	hdrLen := 8 + 8*t.ptrSize
	if len(data) < hdrLen {
		return nil, fmt.Errorf("pclntab header truncated")
	}
	field := func(i int) uint64 {
		b := data[8+i*t.ptrSize:]
		if t.ptrSize == 8 {
			return order.Uint64(b)
		}
		return uint64(order.Uint32(b))
	}
	nfunc := field(0)
	t.headerText = field(2)
	for i := range t.offsets {
		t.offsets[i] = field(3 + i)
		if t.offsets[i] < uint64(hdrLen) || t.offsets[i] > uint64(len(data)) {
			return nil, fmt.Errorf("pclntab table offset %#x out of range", t.offsets[i])
		}
	}
	t.funcnametab = data[t.offsets[0]:]
	t.cutab = data[t.offsets[1]:]
	t.filetab = data[t.offsets[2]:]
	t.pctab = data[t.offsets[3]:]
	t.pclntable = data[t.offsets[4]:]
	// The function table starts the pclntable: nfunc+1 pairs of uint32.
	if nfunc == 0 || nfunc >= uint64(len(t.pclntable))/8 {
		return nil, fmt.Errorf("pclntab function count %d out of range", nfunc)
	}
	t.nfunc = int(nfunc)
	return t, nil
}

// trim cuts each table to the length the moduledata gives it, where that
// is plausible, so that reads cannot run into the next table.
func (t *pclntab) trim(lens [5]uint64) {
	cut := func(b []byte, n uint64) []byte {
		if n <= uint64(len(b)) {
			return b[:n]
		}
		return b
	}
	t.funcnametab = cut(t.funcnametab, lens[0])
	if lens[1] <= uint64(len(t.cutab))/4 {
		t.cutab = t.cutab[:lens[1]*4]
	}
	t.filetab = cut(t.filetab, lens[2])
	t.pctab = cut(t.pctab, lens[3])
	t.pclntable = cut(t.pclntable, lens[4])
}

func (t *pclntab) u32(b []byte, off uint64) (uint32, bool) {
	if off > uint64(len(b)) || uint64(len(b))-off < 4 {
		return 0, false
	}
	return t.order.Uint32(b[off:]), true
}

// ftabEntry returns entry i of the function table: the function's entry
// offset from text and the offset of its _func in pclntable.
func (t *pclntab) ftabEntry(i int) (entryOff, funcOff uint32) {
	// parsePclntab checked that the table fits.
	b := t.pclntable[8*i:]
	return t.order.Uint32(b), t.order.Uint32(b[4:])
}

// funcInfo is a decoded runtime._func.
type funcInfo struct {
	entry     uint64 // link-time address
	end       uint64 // entry of the next function
	nameOff   uint32
	pcfile    uint32
	pcln      uint32
	cuOffset  uint32
	funcID    uint8
	npcdata   uint32
	nfuncdata uint8
	tables    uint64 // offset in pclntable of pcdata[], then funcdata[]
}

// findFunc returns the function containing the link-time address pc, like
// runtime.findfunc.
func (t *pclntab) findFunc(pc uint64) (funcInfo, bool) {
	if pc < t.text {
		return funcInfo{}, false
	}
	off := pc - t.text
	endOff, _ := t.ftabEntry(t.nfunc)
	if off >= uint64(endOff) {
		return funcInfo{}, false
	}
	i := sort.Search(t.nfunc, func(i int) bool {
		e, _ := t.ftabEntry(i + 1)
		return uint64(e) > off
	})
	if i >= t.nfunc {
		return funcInfo{}, false
	}
	entryOff, funcOff := t.ftabEntry(i)
	nextOff, _ := t.ftabEntry(i + 1)
	if uint64(entryOff) > off || funcOff == ^uint32(0) {
		// Out of order garbage, or a hole the external linker filled
		// with code Go does not know.
		return funcInfo{}, false
	}
	f, ok := t.decodeFunc(uint64(funcOff))
	if !ok || f.entry != uint64(entryOff) {
		return funcInfo{}, false
	}
	f.entry = t.text + uint64(entryOff)
	f.end = t.text + uint64(nextOff)
	return f, true
}

// decodeFunc reads the _func at off in pclntable. The layout gained
// startLine before funcID in go1.20 (runtime/runtime2.go).
func (t *pclntab) decodeFunc(off uint64) (funcInfo, bool) {
	fixed := uint64(44)
	if t.magic == magic118 {
		fixed = 40
	}
	if off > uint64(len(t.pclntable)) || uint64(len(t.pclntable))-off < fixed {
		return funcInfo{}, false
	}
	b := t.pclntable[off:]
	u := func(i int) uint32 { return t.order.Uint32(b[4*i:]) }
	f := funcInfo{
		entry:    uint64(u(0)), // an offset until findFunc rebases it
		nameOff:  u(1),
		pcfile:   u(5),
		pcln:     u(6),
		npcdata:  u(7),
		cuOffset: u(8),
		tables:   off + fixed,
	}
	tail := b[fixed-4:] // funcID, flag, pad, nfuncdata
	f.funcID = tail[0]
	f.nfuncdata = tail[3]
	need := (uint64(f.npcdata) + uint64(f.nfuncdata)) * 4
	if uint64(len(b))-fixed < need {
		return funcInfo{}, false
	}
	return f, true
}

// pcdataOff returns the pctab offset of pcdata table i, 0 if none.
func (t *pclntab) pcdataOff(f funcInfo, i uint32) uint32 {
	if i >= f.npcdata {
		return 0
	}
	v, _ := t.u32(t.pclntable, f.tables+uint64(i)*4)
	return v
}

// funcdataOff returns the offset from moduledata.gofunc of funcdata i.
func (t *pclntab) funcdataOff(f funcInfo, i uint8) (uint32, bool) {
	if i >= f.nfuncdata {
		return 0, false
	}
	v, ok := t.u32(t.pclntable, f.tables+uint64(f.npcdata)*4+uint64(i)*4)
	if !ok || v == ^uint32(0) {
		return 0, false
	}
	return v, true
}

// cstring returns the NUL-terminated string at off in b, or "" when off is
// out of range.
func cstring(b []byte, off uint64) string {
	if off >= uint64(len(b)) {
		return ""
	}
	b = b[off:]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// funcName returns the name at nameOff in the function name table, like
// runtime's moduledata.funcName.
func (t *pclntab) funcName(nameOff uint32) string {
	if nameOff == 0 {
		return ""
	}
	return cstring(t.funcnametab, uint64(nameOff))
}

// fileLine returns the source position of the link-time address pc in f,
// like runtime.funcline1: the position of the innermost inlined call there.
func (t *pclntab) fileLine(f funcInfo, pc uint64) (string, int) {
	fileno := t.pcValue(f.pcfile, f.entry, pc)
	line := t.pcValue(f.pcln, f.entry, pc)
	if fileno == -1 || line == -1 || int(fileno) >= len(t.filetab) {
		return "?", 0
	}
	// Files are numbered per compilation unit; cutab maps them to
	// offsets in filetab.
	fileOff, ok := t.u32(t.cutab, (uint64(f.cuOffset)+uint64(uint32(fileno)))*4)
	if !ok || fileOff == ^uint32(0) {
		return "?", 0
	}
	return cstring(t.filetab, uint64(fileOff)), int(line)
}
