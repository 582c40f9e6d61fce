package goroutines

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Layout is where the fields leakscope reads sit in runtime.g, for one Go
// release (major.minor) and architecture, and the runtime's numbering of
// goroutine states and wait reasons in that release.
type Layout struct {
	Release string // "go1.26"
	Arch    string // "amd64" or "arm64"
	Size    uint64 // sizeof(runtime.g)

	StackLo, StackHi uint64 // g.stack.lo, g.stack.hi
	SchedSP, SchedPC uint64 // g.sched.sp, g.sched.pc
	SchedBP          uint64 // g.sched.bp
	AtomicStatus     uint64 // uint32
	Goid             uint64 // uint64 (int64 before 1.20)
	WaitReason       uint64 // uint8
	Gopc, StartPC    uint64
	Statuses         []string // runtime._G* names by value, without "_G"
	WaitReasons      []string // runtime.waitReason* names by value, without the prefix
}

// span is the byte range of g that holds every field read: [0, span).
func (l *Layout) span() uint64 {
	m := uint64(0)
	for _, off := range []uint64{l.StackLo, l.StackHi, l.SchedSP, l.SchedPC, l.SchedBP, l.AtomicStatus, l.Goid, l.WaitReason, l.Gopc, l.StartPC} {
		m = max(m, off+8)
	}
	return min(m, l.Size)
}

// StatusName names a status value (the _Gscan bit removed), e.g. "waiting".
func (l *Layout) StatusName(s uint32) string {
	s &^= scanBit
	if int(s) < len(l.Statuses) && l.Statuses[s] != "" {
		return l.Statuses[s]
	}
	return fmt.Sprintf("status%d", s)
}

// WaitReasonName names a wait reason the way runtime tracebacks do where it
// is a common one ("chan send"), else from the constant's name.
func (l *Layout) WaitReasonName(r uint8) string {
	if int(r) >= len(l.WaitReasons) || l.WaitReasons[r] == "" {
		return fmt.Sprintf("waitreason%d", r)
	}
	return readableWaitReason(l.WaitReasons[r])
}

// scanBit is runtime._Gscan, the same in every release 1.19-1.27.
const scanBit = 0x1000

// ErrNoDWARF means the binary has no DWARF to take a layout from.
var ErrNoDWARF = errors.New("no DWARF debug information")

// LayoutFromDWARF reads the runtime.g layout and the runtime's state and
// wait-reason numbering from the DWARF of the Go binary at path. The
// generator uses it on reference builds; it also checks the committed
// table in tests.
func LayoutFromDWARF(path string) (*Layout, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDWARF, err)
	}
	l := &Layout{}
	switch f.Machine {
	case elf.EM_X86_64:
		l.Arch = "amd64"
	case elf.EM_AARCH64:
		l.Arch = "arm64"
	default:
		return nil, fmt.Errorf("unsupported machine %v", f.Machine)
	}
	statuses, reasons := map[string]int64{}, map[string]int64{}
	var gOff dwarf.Offset
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("reading DWARF: %w", err)
		}
		if e == nil {
			break
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		switch {
		case e.Tag == dwarf.TagStructType && name == "runtime.g":
			gOff = e.Offset
		case e.Tag == dwarf.TagConstant && isStatusName(name):
			if v, ok := e.Val(dwarf.AttrConstValue).(int64); ok {
				statuses[strings.ToLower(strings.TrimPrefix(name, "runtime._G"))] = v
			}
		case e.Tag == dwarf.TagConstant && strings.HasPrefix(name, "runtime.waitReason"):
			if v, ok := e.Val(dwarf.AttrConstValue).(int64); ok {
				reasons[strings.TrimPrefix(name, "runtime.waitReason")] = v
			}
		}
		if e.Tag != dwarf.TagCompileUnit && e.Children {
			r.SkipChildren()
		}
	}
	if gOff == 0 {
		return nil, fmt.Errorf("runtime.g not found in DWARF")
	}
	t, err := d.Type(gOff)
	if err != nil {
		return nil, fmt.Errorf("runtime.g: %w", err)
	}
	g, ok := t.(*dwarf.StructType)
	if !ok {
		return nil, fmt.Errorf("runtime.g is a %T, not a struct", t)
	}
	l.Size = uint64(g.ByteSize)
	fields := []struct {
		path []string
		dst  *uint64
	}{
		{[]string{"stack", "lo"}, &l.StackLo}, {[]string{"stack", "hi"}, &l.StackHi},
		{[]string{"sched", "sp"}, &l.SchedSP}, {[]string{"sched", "pc"}, &l.SchedPC}, {[]string{"sched", "bp"}, &l.SchedBP},
		{[]string{"atomicstatus"}, &l.AtomicStatus}, {[]string{"goid"}, &l.Goid}, {[]string{"waitreason"}, &l.WaitReason},
		{[]string{"gopc"}, &l.Gopc}, {[]string{"startpc"}, &l.StartPC},
	}
	for _, fl := range fields {
		off, err := fieldOffset(g, fl.path)
		if err != nil {
			return nil, fmt.Errorf("runtime.g: %w", err)
		}
		*fl.dst = off
	}
	l.Statuses = numbered(statuses, 16)
	l.WaitReasons = numbered(reasons, 256)
	if len(l.Statuses) == 0 || len(l.WaitReasons) == 0 {
		return nil, fmt.Errorf("runtime status or wait reason constants not found in DWARF")
	}
	return l, nil
}

// isStatusName matches runtime._Gidle, _Gwaiting, _Gmoribund_unused...,
// not _Gscan* (a bit added to a state), _GCoff or _GoidCacheBatch.
func isStatusName(name string) bool {
	rest, ok := strings.CutPrefix(name, "runtime._G")
	if !ok || rest == "" || strings.HasPrefix(rest, "scan") {
		return false
	}
	return strings.ToLower(rest) == rest
}

// fieldOffset follows path through nested struct fields.
func fieldOffset(st *dwarf.StructType, path []string) (uint64, error) {
	var off uint64
	for i, name := range path {
		var found *dwarf.StructField
		for _, f := range st.Field {
			if f.Name == name {
				found = f
				break
			}
		}
		if found == nil {
			return 0, fmt.Errorf("no field %s", strings.Join(path[:i+1], "."))
		}
		off += uint64(found.ByteOffset)
		if i < len(path)-1 {
			t := found.Type
			for {
				td, ok := t.(*dwarf.TypedefType)
				if !ok {
					break
				}
				t = td.Type
			}
			next, ok := t.(*dwarf.StructType)
			if !ok {
				return 0, fmt.Errorf("field %s is not a struct", strings.Join(path[:i+1], "."))
			}
			st = next
		}
	}
	return off, nil
}

// numbered turns name->value constants into a slice indexed by value;
// values outside [0, limit) are dropped. Where two names share a value
// the alphabetically first is kept, so the output is deterministic.
func numbered(c map[string]int64, limit int64) []string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		v := c[n]
		if v < 0 || v >= limit {
			continue
		}
		for int64(len(out)) <= v {
			out = append(out, "")
		}
		if out[v] == "" {
			out[v] = n
		}
	}
	return out
}
