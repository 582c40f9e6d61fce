package retention

import (
	"debug/dwarf"
	"fmt"
)

// typeFields fills the layout's type-recording fields from the DWARF
// structs and constants collect found: the type descriptor's
// (runtime._type before 1.21, internal/abi.Type after), mspan.largeType
// and the malloc-header threshold (both 1.22+).
func typeFields(l *HeapLayout, structs map[string]*dwarf.StructType, consts map[string]int64) error {
	typ, names := structs["internal/abi.Type"], []string{"Size_", "TFlag", "Str"}
	if typ == nil {
		typ, names = structs["runtime._type"], []string{"size", "tflag", "str"}
	}
	if typ == nil {
		return fmt.Errorf("neither internal/abi.Type nor runtime._type in DWARF")
	}
	for i, dst := range []*uint64{&l.TypeSize, &l.TypeTFlag, &l.TypeStr} {
		f := field(typ, names[i])
		if f == nil {
			return fmt.Errorf("%s has no field %s", typ.StructName, names[i])
		}
		*dst = uint64(f.ByteOffset)
	}
	star, ok := consts["internal/abi.TFlagExtraStar"]
	if !ok {
		star, ok = consts["runtime.tflagExtraStar"]
	}
	if !ok {
		return fmt.Errorf("constant TFlagExtraStar not found in DWARF")
	}
	l.TFlagExtraStar = uint64(star)
	switch m, t := structs["internal/runtime/maps.Map"], structs["internal/runtime/maps.table"]; {
	case m != nil && t != nil:
		l.MapHeaderSize, l.MapTableSize = uint64(m.ByteSize), uint64(t.ByteSize)
	case structs["runtime.hmap"] != nil:
		l.MapHeaderSize = uint64(structs["runtime.hmap"].ByteSize)
	default:
		return fmt.Errorf("neither runtime.hmap nor internal/runtime/maps.Map and maps.table in DWARF")
	}
	if f := field(structs["runtime.mspan"], "largeType"); f != nil {
		l.SpanLargeType = uint64(f.ByteOffset)
		v, ok := consts["runtime.minSizeForMallocHeader"]
		if !ok {
			return fmt.Errorf("mspan has largeType but constant runtime.minSizeForMallocHeader is not in DWARF")
		}
		l.MinSizeForMallocHeader = uint64(v)
	}
	return nil
}
