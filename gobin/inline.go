package gobin

import (
	"strings"
	"sync"
)

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
func (ft *funcTable) inlinedCallSize() uint64 {
	if ft.tab.magic == magic118 {
		return 20
	}
	return 16
}

// inlinedCallAt reads entry ix of the inline tree at offset treeOff from
// gofunc.
func (ft *funcTable) inlinedCallAt(treeOff uint32, ix int32) (inlinedCall, bool) {
	size := ft.inlinedCallSize()
	off := uint64(treeOff) + uint64(ix)*size
	if ix < 0 || off > uint64(len(ft.gofuncData)) || uint64(len(ft.gofuncData))-off < size {
		return inlinedCall{}, false
	}
	e := ft.gofuncData[off : off+size]
	u32 := func(i int) uint32 { return ft.tab.order.Uint32(e[i:]) }
	if ft.tab.magic == magic118 {
		return inlinedCall{funcID: e[2], nameOff: u32(12), parentPC: int32(u32(16))}, true
	}
	return inlinedCall{funcID: e[0], nameOff: u32(4), parentPC: int32(u32(8))}, true
}

// LogicalFrame is one frame of the expansion of a PC: an inlined call or,
// last, the physical function.
type LogicalFrame struct {
	PC       uint64 // link-time address whose position this frame reports
	Function string // as the runtime prints it (generic shapes as "[...]")
	File     string
	Line     int
	FuncID   FuncID
	Inlined  bool
}

// maxMemo bounds the per-binary cache of expanded PCs; it is simply
// emptied when full, since the hot set of a leak profile is small.
const maxMemo = 1 << 16

// memo caches expansions: stacks repeat a lot.
type memo struct {
	mu sync.Mutex
	m  map[uint64][]LogicalFrame
}

// Expand returns the logical frames at the link-time address pc, innermost
// first, one per inlined call and last the physical function; nil if pc is
// in no Go function or the function table cannot be read (LoadFuncTable
// says why). The result is shared: do not modify it.
func (b *Binary) Expand(pc uint64) []LogicalFrame {
	b.memo.mu.Lock()
	chain, ok := b.memo.m[pc]
	b.memo.mu.Unlock()
	if ok {
		return chain
	}
	ft, err := b.funcs()
	if err != nil {
		return nil
	}
	chain = ft.expand(pc)
	b.memo.mu.Lock()
	if b.memo.m == nil || len(b.memo.m) >= maxMemo {
		b.memo.m = map[uint64][]LogicalFrame{}
	}
	b.memo.m[pc] = chain
	b.memo.mu.Unlock()
	return chain
}

// expand walks the inline tree at pc the way runtime's inlineUnwinder
// does: the innermost frame's position is that of pc; each caller's is
// that of the instruction its inlined call site names (entry+parentPc),
// whose inline index in turn names the caller's own inlined call, until
// the index is -1 (the physical function).
func (ft *funcTable) expand(pc uint64) []LogicalFrame {
	t := ft.tab
	f, ok := t.findFunc(pc)
	if !ok {
		return nil
	}
	treeOff, hasTree := t.funcdataOff(f, funcdataInlTree)
	indexTable := t.pcdataOff(f, pcdataInlTreeIndex)
	var frames []LogicalFrame
	for depth := 0; ; depth++ {
		file, line := t.fileLine(f, pc)
		ix := int32(-1)
		if hasTree && depth < maxInlineDepth {
			ix = t.pcValue(indexTable, f.entry, pc)
		}
		var call inlinedCall
		if ix >= 0 {
			call, ok = ft.inlinedCallAt(treeOff, ix)
			parent := f.entry + uint64(int64(call.parentPC))
			if !ok || parent < f.entry || parent >= f.end {
				ix = -1 // corrupt: end with the physical frame
			}
		}
		if ix < 0 {
			return append(frames, LogicalFrame{
				PC: pc, Function: funcNameForPrint(t.funcName(f.nameOff)),
				File: file, Line: line, FuncID: FuncID(f.funcID),
			})
		}
		frames = append(frames, LogicalFrame{
			PC: pc, Function: funcNameForPrint(t.funcName(call.nameOff)),
			File: file, Line: line, FuncID: FuncID(call.funcID), Inlined: true,
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
