package crosscheck

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
)

func TestParseHeapSynthetic(t *testing.T) {
	data := heapProfile(t, 524288,
		testSite{[]string{"main.leak", "main.main", "runtime.main"}, 10, 10240},
		testSite{[]string{"main.leak", "main.main", "runtime.main"}, 1, 1024}, // same stack again
		testSite{[]string{"main.churn", "main.main", "runtime.main"}, 2, 8192},
	)
	h, err := parseHeap(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Period != 524288 || len(h.Sites) != 2 {
		t.Fatalf("period %d, %d sites; want 524288, 2", h.Period, len(h.Sites))
	}
	s := h.Sites[siteKey([]string{"main.leak", "main.main", "runtime.main"})]
	if s.InuseBytes != 11264 || s.InuseObjects != 11 {
		t.Errorf("main.leak: %+v, want 11264 bytes in 11 objects", s)
	}
	// The site cap keeps memory bounded and says what it left out.
	h, err = parseHeap(data, Limits{MaxSites: 1})
	if err != nil || len(h.Sites) != 1 || h.Dropped != 1 || h.DroppedBytes != 8192 {
		t.Errorf("MaxSites 1: %d sites, dropped %d (%d B), err %v", len(h.Sites), h.Dropped, h.DroppedBytes, err)
	}
}

//go:noinline
func allocForProfile() []byte { return make([]byte, 4<<20) }

var keep []byte

// TestParseHeapRuntime parses this process's own heap profile, as
// runtime/pprof writes it: a 4 MiB allocation (always sampled) is found
// at its function, frames innermost first.
func TestParseHeapRuntime(t *testing.T) {
	keep = allocForProfile()
	runtime.GC()
	runtime.GC() // published two cycles later
	var b bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&b, 0); err != nil {
		t.Fatal(err)
	}
	h, err := parseHeap(b.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var found int64
	for _, s := range h.Sites {
		if len(s.Frames) > 1 && strings.HasSuffix(s.Frames[0], ".allocForProfile") && strings.HasSuffix(s.Frames[1], ".TestParseHeapRuntime") {
			found += s.InuseBytes
		}
	}
	if found < 4<<20 {
		t.Errorf("allocForProfile: %d in-use bytes in the runtime's profile, want >= 4 MiB", found)
	}
	runtime.KeepAlive(keep)
}
