package gobin

import (
	"errors"
	"fmt"
)

// Indexes of the runtime's per-function tables for stack maps
// (internal/abi: PCDATA_StackMapIndex, FUNCDATA_ArgsPointerMaps,
// FUNCDATA_LocalsPointerMaps, FUNCDATA_StackObjects; the same in go1.19-1.27).
const (
	pcdataStackMapIndex    = 1
	funcdataArgsPointers   = 0
	funcdataLocalsPointers = 1
	funcdataStackObjects   = 2
	// maxMapWords bounds a bitmap (a frame of 8 MiB); maxStackObjects the
	// records read: garbage must not turn into a huge allocation.
	maxMapWords     = 1 << 20
	maxStackObjects = 1 << 12
)

// ErrNoStackMap means the function has no stack map at the pc (assembly,
// or no Go function there): its frame can only be scanned conservatively.
var ErrNoStackMap = errors.New("no stack map")

// FrameMap is what the garbage collector knows of a frame at a pc
// (runtime.getStackMap): which words of its locals and of its arguments
// hold live pointers, and its stack objects, which it scans only when
// something points at them.
type FrameMap struct {
	// Locals covers LocalWords words ending at the frame's varp (the word
	// below the saved frame pointer); bit i (Locals[i/8]>>(i%8)&1) is
	// word i from varp-LocalWords*8.
	LocalWords int
	Locals     []byte
	// Args covers ArgWords words from the frame's argp (the caller's sp,
	// the word above the return address), likewise.
	ArgWords int
	Args     []byte
	// Objects are the stack objects: address-taken locals and arguments.
	Objects []StackObject
}

// StackObject is one stack object: Off is from varp when negative, from
// argp otherwise.
type StackObject struct {
	Off, Size int32
}

// LocalPointer and ArgPointer say whether word i of the locals or args
// area holds a live pointer.
func (m FrameMap) LocalPointer(i int) bool { return bit(m.Locals, m.LocalWords, i) }
func (m FrameMap) ArgPointer(i int) bool   { return bit(m.Args, m.ArgWords, i) }

func bit(b []byte, n, i int) bool {
	return i >= 0 && i < n && b[i/8]>>(i%8)&1 == 1
}

// FrameMap returns the stack maps of the function at the link-time pc,
// which must be where the frame is stopped: a frame below the innermost is
// stopped in its call, so pass the return address minus one.
func (b *Binary) FrameMap(pc uint64) (FrameMap, error) {
	ft, err := b.funcs()
	if err != nil {
		return FrameMap{}, err
	}
	return ft.frameMap(pc)
}

func (ft *funcTable) frameMap(pc uint64) (FrameMap, error) {
	t := ft.tab
	f, ok := t.findFunc(pc)
	if !ok {
		return FrameMap{}, fmt.Errorf("%w: pc %#x is in no Go function", ErrNoStackMap, pc)
	}
	// Like the runtime: an index of -1 (the prologue) uses map 0.
	idx := t.pcValue(t.pcdataOff(f, pcdataStackMapIndex), f.entry, pc)
	if idx < 0 {
		idx = 0
	}
	var m FrameMap
	var any bool
	if off, ok := t.funcdataOff(f, funcdataLocalsPointers); ok {
		n, bits, err := ft.stackMap(off, idx)
		if err != nil {
			return FrameMap{}, fmt.Errorf("locals of %s: %w", t.funcName(f.nameOff), err)
		}
		m.LocalWords, m.Locals, any = n, bits, true
	}
	if off, ok := t.funcdataOff(f, funcdataArgsPointers); ok {
		n, bits, err := ft.stackMap(off, idx)
		if err != nil {
			return FrameMap{}, fmt.Errorf("arguments of %s: %w", t.funcName(f.nameOff), err)
		}
		m.ArgWords, m.Args, any = n, bits, true
	}
	if !any {
		return FrameMap{}, fmt.Errorf("%w: %s has no pointer maps", ErrNoStackMap, t.funcName(f.nameOff))
	}
	if off, ok := t.funcdataOff(f, funcdataStackObjects); ok {
		objs, err := ft.stackObjects(off)
		if err != nil {
			return FrameMap{}, fmt.Errorf("stack objects of %s: %w", t.funcName(f.nameOff), err)
		}
		m.Objects = objs
	}
	return m, nil
}

// stackMap reads bitmap idx of the runtime.stackmap at off from gofunc:
// {n, nbit int32; bytedata [n][(nbit+7)/8]byte}. nbit 0 is no words.
func (ft *funcTable) stackMap(off uint32, idx int32) (int, []byte, error) {
	d, o := ft.gofuncData, ft.tab.order
	if uint64(off)+8 > uint64(len(d)) {
		return 0, nil, errors.New("stack map outside go:func.*")
	}
	n, nbit := int32(o.Uint32(d[off:])), int32(o.Uint32(d[off+4:]))
	if n < 0 || nbit < 0 || nbit > maxMapWords {
		return 0, nil, fmt.Errorf("implausible stack map (%d maps of %d bits)", n, nbit)
	}
	if nbit == 0 {
		return 0, nil, nil
	}
	if idx >= n {
		return 0, nil, fmt.Errorf("stack map index %d of %d", idx, n)
	}
	per := uint64(nbit+7) / 8
	start := uint64(off) + 8 + uint64(idx)*per
	if start+per > uint64(len(d)) {
		return 0, nil, errors.New("stack map outside go:func.*")
	}
	return int(nbit), d[start : start+per], nil
}

// stackObjects reads the runtime.stackObjectRecord list at off from gofunc:
// a word count, then {off, size, ptrdata int32; gcdataoff uint32} each.
func (ft *funcTable) stackObjects(off uint32) ([]StackObject, error) {
	d, o := ft.gofuncData, ft.tab.order
	if uint64(off)+8 > uint64(len(d)) {
		return nil, errors.New("stack objects outside go:func.*")
	}
	n := o.Uint64(d[off:])
	if n > maxStackObjects || uint64(off)+8+n*16 > uint64(len(d)) {
		return nil, fmt.Errorf("implausible stack object count %d", n)
	}
	objs := make([]StackObject, 0, n)
	for i := range n {
		r := d[uint64(off)+8+i*16:]
		so := StackObject{Off: int32(o.Uint32(r)), Size: int32(o.Uint32(r[4:]))}
		if so.Size <= 0 || so.Size > maxMapWords*8 {
			return nil, fmt.Errorf("implausible stack object %+v", so)
		}
		objs = append(objs, so)
	}
	return objs, nil
}
