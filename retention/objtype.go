package retention

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/leakscope/leakscope/gobin"
)

// Reasons counted in Result.Dropped while naming heap objects by type.
const (
	// LostTypeRejected: the word where the runtime records an object's
	// type did not point into the binary's type descriptors (a header not
	// yet written, a slot reused under the read, a bad table).
	LostTypeRejected = "type_not_in_types_section"
	// LostTypeRead: the header word could not be read.
	LostTypeRead = "type_header_unreadable"
	// LostTypeSection: the binary's types section (moduledata) is not
	// known, or a descriptor in it could not be read.
	LostTypeSection = "type_section_unreadable"
)

// typeReader reads a type descriptor's name from the binary (gobin).
type typeReader interface {
	TypeName(typ uint64, f gobin.TypeFields) (name string, size uint64, err error)
}

func (e gobinExe) TypeName(typ uint64, f gobin.TypeFields) (string, uint64, error) {
	return e.b.TypeName(typ, f)
}

// typeInfo is one type descriptor as read, cached per link address.
type typeInfo struct {
	name string
	size uint64
	ok   bool
	lost string // why not ok (a Lost* name)
}

// typeWord says where the runtime records the type of the object at base
// in span s (Go 1.22+): a large object's span holds it (largeType, already
// read with the span: word is the type itself), an object of a scan span
// above minSizeForMallocHeader starts with it (header: word is its
// address). Small and noscan objects have no record: recorded is false.
func (l *HeapLayout) typeWord(s *Span, base uint64) (word uint64, header, recorded bool) {
	switch {
	case l.SpanLargeType == 0 || s.NoScan:
		return 0, false, false
	case s.Large:
		return s.largeType, false, s.largeType != 0
	case s.Elemsize > l.MinSizeForMallocHeader:
		return base, true, true
	}
	return 0, false, false
}

// nameHops names the heap objects of a confirmed path: by the type the
// runtime records for them where it does, else by the allocation site of
// a sampled object they are, else by size ("object of 48 B").
func (st *search) nameHops(hops []Hop) {
	type pending struct {
		i       int
		word    uint64
		header  bool
		sp      *Span
		useable uint64
	}
	var todo []pending
	var headers []uint64
	for i := range hops {
		h := &hops[i]
		if h.Kind != KindHeap && h.Kind != KindLeaked {
			continue
		}
		sp, base, ok := st.x.Lookup(h.Addr)
		if !ok {
			continue
		}
		if site, ok := st.sampledIn(base, sp.Elemsize); ok {
			h.Name = fmt.Sprintf("object of %d B allocated in %s", sp.Elemsize, site)
		}
		word, header, recorded := st.layout.typeWord(sp, base)
		if !recorded {
			continue
		}
		p := pending{i: i, word: word, header: header, sp: sp, useable: sp.Elemsize}
		if header {
			p.useable -= st.layout.MallocHeaderSize
			headers = append(headers, word)
		}
		todo = append(todo, p)
	}
	if len(todo) == 0 {
		return
	}
	words, read, err := readWords(st.mem, headers)
	if err != nil {
		st.res.Dropped[LostTypeRead] += len(headers)
		return
	}
	k := 0
	for _, p := range todo {
		typ := p.word
		if p.header {
			ok := read[k]
			typ = words[k]
			k++
			if !ok {
				st.res.Dropped[LostTypeRead]++
				continue
			}
		}
		t, lost := st.typeAt(typ)
		if !t.ok {
			if lost != "" {
				st.res.Dropped[lost]++
			}
			continue
		}
		h := &hops[p.i]
		h.Type = t.name
		h.Name = t.name
		// make([]T, n) records T: an object holding two or more is an
		// array (size classes waste under an eighth, so one T never
		// leaves room for a second).
		if t.size > 0 && p.useable/t.size >= 2 {
			h.Name = "[]" + t.name
		}
	}
}

// typeAt reads the type descriptor at the run-time address typ, which
// must lie in the binary's types section; lost says why not ("" when
// the executable cannot read types at all: nothing to count).
func (st *search) typeAt(typ uint64) (t typeInfo, lost string) {
	tr, ok := st.exe.(typeReader)
	if !ok {
		return typeInfo{}, ""
	}
	if typ < st.bias {
		return typeInfo{}, LostTypeRejected
	}
	link := typ - st.bias
	t, ok = st.types[link]
	if !ok {
		l := st.layout
		name, size, err := tr.TypeName(link, gobin.TypeFields{Size: l.TypeSize, TFlag: l.TypeTFlag, Str: l.TypeStr, ExtraStar: uint8(l.TFlagExtraStar)})
		t = typeInfo{name: name, size: size, ok: err == nil && name != ""}
		switch {
		case errors.Is(err, gobin.ErrNotAType) || err == nil && name == "":
			t.lost = LostTypeRejected
		case err != nil:
			t.lost = LostTypeSection
		}
		st.types[link] = t
	}
	return t, t.lost
}

// sampledIn is the allocation site of a sampled object in [base,
// base+size), if the caller gave one (SetSampled).
func (st *search) sampledIn(base, size uint64) (string, bool) {
	i := sort.Search(len(st.sampled), func(i int) bool { return st.sampled[i].addr >= base })
	if i < len(st.sampled) && st.sampled[i].addr < base+size {
		return st.sampled[i].site, true
	}
	return "", false
}

// sampledSite is one sampled object and the function that allocated it.
type sampledSite struct {
	addr uint64
	site string
}

// SetSampled gives the search the sampled live objects it may meet as
// holders (address -> the function that allocated it): a holder the
// runtime records no type for is named by its allocation site.
func (s *Searcher) SetSampled(sites map[uint64]string) {
	s.sampled = s.sampled[:0]
	for a, site := range sites {
		s.sampled = append(s.sampled, sampledSite{a, site})
	}
	sort.Slice(s.sampled, func(i, j int) bool { return s.sampled[i].addr < s.sampled[j].addr })
}

// mapName is "map[K]V" for the type of a map's bucket or group array
// ("map.bucket[K]V" before 1.24, "noalg.map.group[K]V" after), "" for
// any other type.
func mapName(typ string) string {
	for _, p := range []string{"noalg.map.group[", "map.group[", "noalg.map.bucket[", "map.bucket["} {
		if rest, ok := strings.CutPrefix(typ, p); ok {
			return "map[" + rest
		}
	}
	return ""
}

// runtimeTypes are the runtime's own heap structures that hold pointers
// to user objects without keeping them for the user: a P's write-barrier
// buffer and mcache, an M, a G, GC work buffers. Without symbols their
// roots (runtime.allp...) are not recognised by name; their types are.
var runtimeTypes = map[string]bool{
	"runtime.p": true, "runtime.m": true, "runtime.g": true, "runtime.mcache": true,
	"runtime.workbuf": true, "runtime.gcWork": true, "runtime.wbBuf": true, "runtime.spanSetBlock": true,
}

// runtimeHolder tells whether the object at base in span s is one of the
// runtimeTypes by the type the runtime records for it. first reads the
// object's first word (its header) when it is at hand; unknown types
// and unread headers are not runtime holders.
func (st *search) runtimeHolder(s *Span, base uint64, first func() (uint64, bool)) bool {
	word, header, recorded := st.layout.typeWord(s, base)
	if !recorded {
		return false
	}
	if header {
		w, ok := first()
		if !ok {
			return false
		}
		word = w
	}
	t, _ := st.typeAt(word)
	return t.ok && runtimeTypes[t.name]
}

// cachedWord is the word at at in span s from the kept heap.
func (st *search) cachedWord(s *Span, at uint64) (uint64, bool) {
	piece := s.Base + (at-s.Base)/chunk*chunk
	b, ok := st.cache[piece]
	if off := at - piece; ok && off+8 <= uint64(len(b)) {
		return binary.LittleEndian.Uint64(b[off:]), true
	}
	return 0, false
}
