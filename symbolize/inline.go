package symbolize

import "strings"

// maxInlineDepth bounds the walk up an inline tree, which garbage could
// make cyclic. Real trees are rarely more than a dozen levels deep.
const maxInlineDepth = 100

// inlinedCall is the part of a runtime.inlinedCall entry (the elements of
// FUNCDATA_InlTree) used here.
type inlinedCall struct {
	funcID   uint8
	nameOff  uint32 // in funcnametab
	parentPC int32  // offset from the entry of an instruction at the call site
}

// inlinedCallSize returns the size of a runtime.inlinedCall:
//
//	go1.18-1.19: {parent int16; funcID uint8; _ byte; file, line, func_, parentPc int32}
//	go1.20+:     {funcID uint8; _ [3]byte; nameOff, parentPc, startLine int32}
func (b *Binary) inlinedCallSize() uint64 {
	if b.tab.magic == magic118 {
		return 20
	}
	return 16
}

// inlinedCall reads entry ix of the inline tree at offset treeOff from
// gofunc.
func (b *Binary) inlinedCall(treeOff uint32, ix int32) (inlinedCall, bool) {
	size := b.inlinedCallSize()
	off := uint64(treeOff) + uint64(ix)*size
	if ix < 0 || off > uint64(len(b.gofuncData)) || uint64(len(b.gofuncData))-off < size {
		return inlinedCall{}, false
	}
	e := b.gofuncData[off : off+size]
	u32 := func(i int) uint32 { return b.tab.order.Uint32(e[i:]) }
	if b.tab.magic == magic118 {
		return inlinedCall{funcID: e[2], nameOff: u32(12), parentPC: int32(u32(16))}, true
	}
	return inlinedCall{funcID: e[0], nameOff: u32(4), parentPC: int32(u32(8))}, true
}

// logicalFrame is one frame of the expansion of a PC: an inlined call or,
// last, the physical function.
type logicalFrame struct {
	pc      uint64 // link-time address whose position this frame reports
	name    string
	file    string
	line    int
	funcID  uint8
	inlined bool
}

// expand returns the logical frames at the link-time address pc, innermost
// first, the way runtime's inlineUnwinder walks them: the innermost frame's
// position is that of pc; each caller's is that of the instruction its
// inlined call site names (entry+parentPc), whose inline index in turn
// names the caller's own inlined call, until the index is -1 (the physical
// function). It returns nil if pc is in no Go function.
func (b *Binary) expand(pc uint64) []logicalFrame {
	f, ok := b.tab.findFunc(pc)
	if !ok {
		return nil
	}
	treeOff, hasTree := b.tab.funcdataOff(f, funcdataInlTree)
	indexTable := b.tab.pcdataOff(f, pcdataInlTreeIndex)
	var frames []logicalFrame
	for depth := 0; ; depth++ {
		file, line := b.tab.fileLine(f, pc)
		ix := int32(-1)
		if hasTree && depth < maxInlineDepth {
			ix = b.tab.pcValue(indexTable, f.entry, pc)
		}
		var call inlinedCall
		if ix >= 0 {
			call, ok = b.inlinedCall(treeOff, ix)
			parent := f.entry + uint64(int64(call.parentPC))
			if !ok || parent < f.entry || parent >= f.end {
				ix = -1 // corrupt: end with the physical frame
			}
		}
		if ix < 0 {
			return append(frames, logicalFrame{
				pc: pc, name: funcNameForPrint(b.tab.funcName(f.nameOff)),
				file: file, line: line, funcID: f.funcID,
			})
		}
		frames = append(frames, logicalFrame{
			pc: pc, name: funcNameForPrint(b.tab.funcName(call.nameOff)),
			file: file, line: line, funcID: call.funcID, inlined: true,
		})
		pc = f.entry + uint64(int64(call.parentPC))
	}
}

// funcNameForPrint shortens the shape arguments of generic function names
// to "[...]", like runtime.funcNameForPrint.
func funcNameForPrint(name string) string {
	i := strings.IndexByte(name, '[')
	if i < 0 {
		return name
	}
	j := strings.LastIndexByte(name, ']')
	if j <= i {
		return name
	}
	return name[:i] + "[...]" + name[j+1:]
}
