package retention

import "strings"

// collapseMaps replaces the run of hops that is one map's internals by a
// single hop named like the map's type ("map[string]*main.Session"). The
// run ends at a bucket or group array whose type the runtime records
// ("map.bucket[K]V" before 1.24, "noalg.map.group[K]V" after: a scan
// array above minSizeForMallocHeader); above it, the untyped structures
// the map's layout puts there are taken in when their sizes fit: the
// runtime.hmap before 1.24, the maps.Map, its directory and a maps.table
// with swiss maps (a small swiss map's Map points at its group directly).
// Overflow buckets of the same map collapse with it. A map whose groups
// are too small to carry a header is left as it is: nothing names it.
func (l *HeapLayout) collapseMaps(hops []Hop) []Hop {
	out := make([]Hop, 0, len(hops))
	for i := 0; i < len(hops); i++ {
		h := hops[i]
		name := mapName(h.Type)
		if h.Kind == KindLeaked && name != "" {
			// The leaked object is a map's storage (a map growing in the
			// leaking function): its header structures are the map.
			if n := l.mapRun(out); n > 0 {
				first := out[len(out)-n]
				last := out[len(out)-1]
				out = append(out[:len(out)-n], Hop{Kind: KindHeap, Name: name, Addr: first.Addr, Size: first.Size, Field: last.Field,
					at: last.at, next: last.next, size: last.size})
			}
			h.Name = storageName(h.Type) + " of " + name
			out = append(out, h)
			continue
		}
		if h.Kind == KindLeaked && h.Type == "*maps.table" && l.mapRun(out) == 1 {
			// A leaked swiss map directory: its key and value types are
			// only in its groups' type.
			out[len(out)-1].Name = "map"
			h.Name = "table directory of the map"
			out = append(out, h)
			continue
		}
		if h.Kind != KindHeap || name == "" {
			out = append(out, h)
			continue
		}
		// Overflow buckets and old/new arrays of the same map below it.
		for i+1 < len(hops) && hops[i+1].Kind == KindHeap && hops[i+1].Type == h.Type {
			i++
			h.Field = hops[i].Field
		}
		n := l.mapRun(out)
		first := h
		if n > 0 {
			first = out[len(out)-n]
			out = out[:len(out)-n]
		}
		out = append(out, Hop{Kind: KindHeap, Name: name, Type: h.Type, Addr: first.Addr, Size: h.Size, Field: h.Field,
			at: h.at, next: h.next, size: h.size})
	}
	return out
}

// mapRun is how many of the last hops of above are the untyped header
// structures of a map whose buckets or groups come next.
func (l *HeapLayout) mapRun(above []Hop) int {
	fits := func(back int, size uint64) bool {
		if back > len(above) || size == 0 {
			return false
		}
		h := above[len(above)-back]
		// Allocated in the size class just above the struct's size.
		return h.Kind == KindHeap && h.Type == "" && h.Size >= size && h.Size < size+16
	}
	// The directory: an array of *maps.table, typed when above 512 B.
	directory := func(back int) bool {
		if back > len(above) {
			return false
		}
		h := above[len(above)-back]
		return h.Kind == KindHeap && (h.Type == "" || h.Type == "*maps.table")
	}
	switch {
	case l.MapTableSize != 0 && fits(1, l.MapTableSize) && directory(2) && fits(3, l.MapHeaderSize):
		return 3 // Map -> directory -> table -> groups
	case fits(1, l.MapHeaderSize):
		return 1 // hmap -> buckets, or a small swiss Map -> its group
	}
	return 0
}

// storageName is what a map's typed array is called: "groups" (swiss
// maps) or "buckets".
func storageName(typ string) string {
	if strings.Contains(typ, "map.group[") {
		return "groups"
	}
	return "buckets"
}
