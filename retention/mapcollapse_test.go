package retention

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func hopsOf(spec ...Hop) []Hop { return spec }

// TestCollapseMaps: a map's untyped header structures and its typed
// group or bucket array become one map[K]V hop; what is not a map, or a
// map whose groups carry no type, stays hop by hop.
func TestCollapseMaps(t *testing.T) {
	swiss := &HeapLayout{MapHeaderSize: 48, MapTableSize: 32}
	old := &HeapLayout{MapHeaderSize: 48}
	root := Hop{Kind: KindGlobal, Name: "main.sessions"}
	leaked := Hop{Kind: KindLeaked, Name: "main.Session", Type: "main.Session", Size: 640}
	heap := func(size uint64, typ string) Hop {
		return Hop{Kind: KindHeap, Name: typ, Type: typ, Size: size, Field: 24}
	}
	for _, c := range []struct {
		name string
		l    *HeapLayout
		hops []Hop
		want string
	}{
		{"swiss", swiss, hopsOf(root, heap(48, ""), heap(64, ""), heap(32, ""), heap(3200, "map.group[string]*main.Session"), leaked),
			"main.sessions map[string]*main.Session main.Session"},
		{"small swiss", swiss, hopsOf(root, heap(48, ""), heap(1200, "map.group[int]*main.Big"), leaked),
			"main.sessions map[int]*main.Big main.Session"},
		{"hmap", old, hopsOf(root, heap(48, ""), heap(3328, "map.bucket[string]*main.Session"), heap(3328, "map.bucket[string]*main.Session"), leaked),
			"main.sessions map[string]*main.Session main.Session"},
		{"struct above the map", old, hopsOf(root, heap(16, ""), heap(48, ""), heap(3328, "map.bucket[string]*main.Session"), leaked),
			"main.sessions 16 map[string]*main.Session main.Session"},
		{"untyped groups", swiss, hopsOf(root, heap(48, ""), heap(8, ""), heap(32, ""), heap(200, ""), leaked),
			"main.sessions 48 8 32 200 main.Session"},
		{"big directory", swiss, hopsOf(root, heap(48, ""), heap(1024, "*maps.table"), heap(32, ""), heap(3200, "map.group[string]*main.Session"), leaked),
			"main.sessions map[string]*main.Session main.Session"},
		{"leaked groups", swiss, hopsOf(root, heap(48, ""), heap(1024, "*maps.table"), heap(32, ""), Hop{Kind: KindLeaked, Type: "map.group[int]*main.X", Name: "[]map.group[int]*main.X", Size: 9472}),
			"main.sessions map[int]*main.X groups of map[int]*main.X"},
		{"leaked buckets", old, hopsOf(root, heap(48, ""), Hop{Kind: KindLeaked, Type: "map.bucket[int]*main.X", Name: "[]map.bucket[int]*main.X", Size: 9472}),
			"main.sessions map[int]*main.X buckets of map[int]*main.X"},
		{"leaked directory", swiss, hopsOf(root, heap(48, ""), Hop{Kind: KindLeaked, Type: "*maps.table", Name: "[]*maps.table", Size: 1024}),
			"main.sessions map table directory of the map"},
		{"not a map", swiss, hopsOf(root, heap(48, ""), heap(640, "main.Session"), leaked),
			"main.sessions 48 main.Session main.Session"},
	} {
		got := c.l.collapseMaps(c.hops)
		var names []string
		for _, h := range got {
			if h.Name == "" {
				names = append(names, strconv.FormatUint(h.Size, 10))
				continue
			}
			names = append(names, h.Name)
		}
		if s := strings.Join(names, " "); s != c.want {
			t.Errorf("%s: %q, want %q", c.name, s, c.want)
		}
	}
}

// TestSummaryNames: the summary line and the hops name typed holders by
// type, a run of one type as a chain of it, sampled ones by their site,
// the rest by size as before.
func TestSummaryNames(t *testing.T) {
	hops := []Hop{{Kind: KindGlobal, Name: "main.events"}}
	for i := 0; i < 5; i++ {
		hops = append(hops, Hop{Kind: KindHeap, Name: "main.node", Type: "main.node", Size: 576})
	}
	hops = append(hops, Hop{Kind: KindHeap, Name: "object of 16 B allocated in main.newBox", Size: 16},
		Hop{Kind: KindHeap, Name: "object of 48 B", Size: 48},
		Hop{Kind: KindHeap, Name: "map[string]*main.Session", Type: "map.group[string]*main.Session", Size: 3200},
		Hop{Kind: KindLeaked, Name: "main.Session", Type: "main.Session", Size: 640})
	r := Summarize([]Path{{Hops: hops}}, &Result{}, time.Now())
	want := "main.events (global) -> a chain of 5 main.node -> 16 B object allocated in main.newBox -> 48 B object -> map[string]*main.Session"
	if len(r.Paths) != 1 || r.Paths[0].Summary != want {
		t.Fatalf("summary %+v, want %q", r.Paths, want)
	}
	if h := r.Paths[0].Hops; len(h) != 6 || h[1].Name != "a chain of 5 main.node" || h[4].Name != "map[string]*main.Session" || h[5].Name != "main.Session" {
		t.Errorf("hops %+v", h)
	}
}

// TestSummaryLeakedDirectory: the summary of a leaked map directory names
// the map, not its 48 B header.
func TestSummaryLeakedDirectory(t *testing.T) {
	l := &HeapLayout{MapHeaderSize: 48, MapTableSize: 32}
	hops := l.collapseMaps([]Hop{{Kind: KindGlobal, Name: "main.cache"}, {Kind: KindHeap, Name: "object of 48 B", Size: 48},
		{Kind: KindLeaked, Type: "*maps.table", Name: "[]*maps.table", Size: 1024}})
	r := Summarize([]Path{{Hops: hops}}, &Result{}, time.Now())
	if want := "main.cache (global) -> map"; len(r.Paths) != 1 || r.Paths[0].Summary != want {
		t.Errorf("summary %+v, want %q", r.Paths, want)
	}
}
