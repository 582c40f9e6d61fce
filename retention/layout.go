package retention

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"strings"

	"github.com/leakscope/leakscope/gobin"
)

// HeapLayout is where the fields the span index reads sit in
// runtime.mheap, runtime.heapArena and runtime.mspan, for one Go release
// (major.minor) and architecture, with the heap's geometry constants.
type HeapLayout struct {
	Release string // "go1.26"
	Arch    string // "amd64" or "arm64"

	MheapArenas     uint64 // mheap.arenas: [ArenaL1]*[ArenaL2]*heapArena
	ArenaL1         uint64 // 1 << arenaL1Bits
	ArenaL2         uint64 // 1 << arenaL2Bits
	ArenaBaseOffset uint64 // arenaIndex(p) = (p - ArenaBaseOffset) / HeapArenaBytes
	HeapArenaBytes  uint64
	PageSize        uint64
	HeapArenaSpans  uint64 // heapArena.spans: [pagesPerArena]*mspan

	SpanSize                  uint64 // sizeof(mspan)
	SpanStartAddr, SpanNpages uint64 // uintptr
	SpanFreeIndex             uint64 // uintptr before 1.22, uint16 after
	SpanNelems                uint64 // same width as freeindex
	IndexBytes                uint64 // width of freeindex and nelems: 8 or 2
	SpanAllocBits             uint64 // *gcBits
	SpanClass                 uint64 // uint8: size class << 1 | noscan
	SpanState                 uint64 // uint8 (mSpanStateBox)
	SpanElemsize              uint64 // uintptr
	StateInUse                uint64 // runtime.mSpanInUse
	MallocHeaderSize          uint64 // 8 from 1.22 (allocation headers), else 0

	// Where the runtime records a heap object's type (see objtype.go).
	// Go 1.22+: a scan object above MinSizeForMallocHeader in a small
	// size class starts with a header word, its *_type; a large object's
	// span holds it in mspan.largeType. 0: not recorded (before 1.22).
	MinSizeForMallocHeader uint64
	SpanLargeType          uint64
	// The type descriptor (runtime._type, internal/abi.Type from 1.21):
	// Size_, TFlag, Str (a nameOff) and the TFlagExtraStar bit.
	TypeSize, TypeTFlag, TypeStr uint64
	TFlagExtraStar               uint64
	// Sizes of the untyped map structures above a map's buckets or
	// groups: runtime.hmap before 1.24, internal/runtime/maps.Map and
	// maps.table (swiss maps) from 1.24 (MapTableSize 0 before).
	MapHeaderSize, MapTableSize uint64

	// runtime.timer (timers.go): a time.AfterFunc timer is a root.
	TimerSize                   uint64
	TimerWhen, TimerF, TimerArg uint64 // when int64, f func(...), arg any
	TimerState                  uint64 // its low byte: status before 1.23, astate after
	// TimerInObject is where the runtime timer sits in the heap object
	// AfterFunc allocates: time.Timer{C, r runtimeTimer} before 1.23 (8),
	// runtime.timeTimer{c, init, timer} after (16). Neither type is in
	// the DWARF of every program: derived from which timer this is (ts).
	TimerInObject uint64
	// Whether a timer is in a P's timer heap (armed): before 1.23 its
	// status is none of the TimerDeadStatus bits (1<<status); after, its
	// state has TimerHeaped and not TimerZombie (stopped, not yet removed).
	TimerDeadStatus, TimerHeaped, TimerZombie uint64
	// TimerP is the timer's pointer to its P: pp (the p) before 1.23, ts
	// (&p.timers, PTimers into the p) after. The search does not follow
	// it: a *time.Timer a program keeps must not lead into the scheduler.
	TimerP, PTimers, PSize uint64

	// runtime.hchan: a channel's buffer is a holder.
	HchanSize, HchanQcount, HchanDataqsiz, HchanBuf uint64
	HchanElemsize                                   uint64 // uint16
}

// ErrUnknownLayout means the table has no heap layout for the target's Go
// release and architecture.
var ErrUnknownLayout = errors.New("no heap layout for this Go release")

// LayoutFor returns the heap layout of a Go version ("go1.26.8") on arch.
func LayoutFor(version, arch string) (*HeapLayout, error) {
	major, minor, ok := gobin.ParseGoVersion(version)
	if !ok {
		return nil, fmt.Errorf("%w: version %q unknown", ErrUnknownLayout, version)
	}
	release := fmt.Sprintf("go%d.%d", major, minor)
	for i := range heapLayouts {
		if heapLayouts[i].Release == release && heapLayouts[i].Arch == arch {
			return &heapLayouts[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %s/%s", ErrUnknownLayout, release, arch)
}

// LayoutFromDWARF reads the heap layout from the DWARF of the Go binary at
// path. The generator uses it on reference builds; tests check the
// committed table with it.
func LayoutFromDWARF(path string) (*HeapLayout, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("no DWARF debug information: %w", err)
	}
	l := &HeapLayout{}
	switch f.Machine {
	case elf.EM_X86_64:
		l.Arch = "amd64"
	case elf.EM_AARCH64:
		l.Arch = "arm64"
	default:
		return nil, fmt.Errorf("unsupported machine %v", f.Machine)
	}
	structs, consts, err := collect(d, []string{"runtime.mheap", "runtime.heapArena", "runtime.mspan", "runtime.timer", "runtime.hchan", "runtime.p"},
		[]string{"runtime._type", "internal/abi.Type", "runtime.hmap", "internal/runtime/maps.Map", "internal/runtime/maps.table"})
	if err != nil {
		return nil, err
	}
	if err := typeFields(l, structs, consts); err != nil {
		return nil, err
	}
	if err := timerAndChanLayout(l, structs["runtime.timer"], structs["runtime.hchan"], structs["runtime.p"], consts); err != nil {
		return nil, err
	}
	mheap, arena, span := structs["runtime.mheap"], structs["runtime.heapArena"], structs["runtime.mspan"]
	var arenas *dwarf.StructField
	for _, fl := range []struct {
		st   *dwarf.StructType
		name string
		dst  *uint64
	}{
		{mheap, "arenas", &l.MheapArenas}, {arena, "spans", &l.HeapArenaSpans},
		{span, "startAddr", &l.SpanStartAddr}, {span, "npages", &l.SpanNpages},
		{span, "freeindex", &l.SpanFreeIndex}, {span, "nelems", &l.SpanNelems},
		{span, "allocBits", &l.SpanAllocBits}, {span, "spanclass", &l.SpanClass},
		{span, "state", &l.SpanState}, {span, "elemsize", &l.SpanElemsize},
	} {
		f := field(fl.st, fl.name)
		if f == nil {
			return nil, fmt.Errorf("%s has no field %s", fl.st.StructName, fl.name)
		}
		*fl.dst = uint64(f.ByteOffset)
		if fl.name == "arenas" {
			arenas = f
		}
		if fl.name == "nelems" {
			l.IndexBytes = uint64(f.Type.Size())
		}
	}
	l.SpanSize = uint64(span.ByteSize)
	// arenas is [L1]*[L2]*heapArena.
	a1, ok := arenas.Type.(*dwarf.ArrayType)
	if !ok {
		return nil, fmt.Errorf("mheap.arenas is a %T, not an array", arenas.Type)
	}
	p, ok := a1.Type.(*dwarf.PtrType)
	if !ok {
		return nil, fmt.Errorf("mheap.arenas holds %T, not pointers", a1.Type)
	}
	a2, ok := p.Type.(*dwarf.ArrayType)
	if !ok {
		return nil, fmt.Errorf("mheap.arenas points at %T, not an array", p.Type)
	}
	l.ArenaL1, l.ArenaL2 = uint64(a1.Count), uint64(a2.Count)
	for _, c := range []struct {
		names []string
		dst   *uint64
	}{
		{[]string{"runtime.arenaBaseOffsetUintptr", "runtime.arenaBaseOffset"}, &l.ArenaBaseOffset},
		{[]string{"runtime.heapArenaBytes"}, &l.HeapArenaBytes},
		{[]string{"runtime.pageSize", "runtime._PageSize"}, &l.PageSize},
		{[]string{"runtime.mSpanInUse"}, &l.StateInUse},
		{[]string{"runtime.mallocHeaderSize"}, &l.MallocHeaderSize},
	} {
		found := false
		for _, n := range c.names {
			if v, ok := consts[n]; ok {
				*c.dst, found = uint64(v), true
				break
			}
		}
		if !found && c.dst != &l.MallocHeaderSize && c.dst != &l.ArenaBaseOffset {
			return nil, fmt.Errorf("constant %s not found in DWARF", c.names[0])
		}
	}
	if l.HeapArenaBytes == 0 || l.PageSize == 0 || l.ArenaL2 == 0 {
		return nil, fmt.Errorf("implausible heap geometry %+v", l)
	}
	return l, nil
}

// collect finds the named struct types (an error when one is missing),
// the optional ones that exist, and every runtime and internal/abi
// constant.
func collect(d *dwarf.Data, names, optional []string) (map[string]*dwarf.StructType, map[string]int64, error) {
	want := map[string]bool{}
	for _, n := range append(append([]string{}, names...), optional...) {
		want[n] = true
	}
	structs, consts := map[string]*dwarf.StructType{}, map[string]int64{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, nil, fmt.Errorf("reading DWARF: %w", err)
		}
		if e == nil {
			break
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		switch {
		case e.Tag == dwarf.TagStructType && want[name] && structs[name] == nil:
			t, err := d.Type(e.Offset)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			st, ok := t.(*dwarf.StructType)
			if !ok {
				return nil, nil, fmt.Errorf("%s is a %T, not a struct", name, t)
			}
			structs[name] = st
		case e.Tag == dwarf.TagConstant && (strings.HasPrefix(name, "runtime.") || strings.HasPrefix(name, "internal/abi.")):
			if v, ok := e.Val(dwarf.AttrConstValue).(int64); ok {
				consts[name] = v
			}
		}
		if e.Tag != dwarf.TagCompileUnit && e.Children {
			r.SkipChildren()
		}
	}
	for _, n := range names {
		if structs[n] == nil {
			return nil, nil, fmt.Errorf("%s not found in DWARF", n)
		}
	}
	return structs, consts, nil
}

func field(st *dwarf.StructType, name string) *dwarf.StructField {
	for _, f := range st.Field {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// timerAndChanLayout reads the runtime.timer and runtime.hchan fields the
// timer and channel holders need.
func timerAndChanLayout(l *HeapLayout, timer, hchan, p *dwarf.StructType, consts map[string]int64) error {
	state, toP := "status", "pp"
	if field(timer, "ts") != nil { // 1.23: timers moved into time.Timer
		state, toP = "astate", "ts"
		f := field(p, "timers")
		if f == nil {
			return fmt.Errorf("runtime.p has no field timers")
		}
		l.PTimers = uint64(f.ByteOffset)
		l.TimerInObject = 16
		l.TimerHeaped, l.TimerZombie = uint64(consts["runtime.timerHeaped"]), uint64(consts["runtime.timerZombie"])
		if l.TimerHeaped == 0 || l.TimerZombie == 0 {
			return fmt.Errorf("runtime.timerHeaped or timerZombie not found in DWARF")
		}
	} else {
		l.TimerInObject = 8
		for _, n := range []string{"timerNoStatus", "timerDeleted", "timerRemoving", "timerRemoved"} {
			v, ok := consts["runtime."+n]
			if !ok || v < 0 || v >= 64 {
				return fmt.Errorf("constant runtime.%s not found in DWARF", n)
			}
			l.TimerDeadStatus |= 1 << v
		}
	}
	l.TimerSize, l.HchanSize, l.PSize = uint64(timer.ByteSize), uint64(hchan.ByteSize), uint64(p.ByteSize)
	for _, fl := range []struct {
		st   *dwarf.StructType
		name string
		dst  *uint64
	}{
		{timer, "when", &l.TimerWhen}, {timer, "f", &l.TimerF}, {timer, "arg", &l.TimerArg}, {timer, state, &l.TimerState}, {timer, toP, &l.TimerP},
		{hchan, "qcount", &l.HchanQcount}, {hchan, "dataqsiz", &l.HchanDataqsiz}, {hchan, "buf", &l.HchanBuf},
		{hchan, "elemsize", &l.HchanElemsize},
	} {
		f := field(fl.st, fl.name)
		if f == nil {
			return fmt.Errorf("%s has no field %s", fl.st.StructName, fl.name)
		}
		*fl.dst = uint64(f.ByteOffset)
	}
	return nil
}
