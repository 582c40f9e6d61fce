package report

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/snapshot"
)

func sampleDoc() *Document {
	return &Document{
		GeneratedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
		Targets: []Target{{
			PID: 4242, HostPID: 4242, NSPID: 1, ContainerID: "0123abcd", Cgroup: "/docker/0123abcd", Exe: "/srv/app", GoVersion: "go1.24.1", MemProfileRate: 512 * 1024,
			MemProfileRateSetByLeakscope: true, GCCycles: 1520, SampledAllocs: 90000, SampledFrees: 88000,
			Lost: map[string]uint64{"ringbuf_full": 3}, Events: map[string]uint64{"alloc": 90000},
			Status: StatusWatching,
			Suspects: []analysis.Suspect{{
				Function: "main.(*Cache).Put", File: "/src/app/cache.go", Line: 42,
				Stack:     []string{"main.(*Cache).Put (cache.go:42)", "main.main (main.go:10)"},
				LiveBytes: 1 << 30, LiveObjects: 1 << 20, GrowthBytesPerSecond: 12288,
				MedianAgeGCCycles: 37, Score: 0.93, Verdict: analysis.VerdictLeak,
				FirstLeakAt: time.Date(2025, 3, 4, 5, 0, 0, 0, time.UTC),
				Evidence:    analysis.Evidence{SlopeBytesPerSecond: 12288, PValue: 1e-9, Points: 61},
				StackIDs:    []int32{7},
				Reason:      "12 sampled objects older than 3 GC cycles appeared",
			}, {
				Function: "main.remember", File: "/src/app/main.go", Line: 7,
				Stack:       []string{"encoding/hex.EncodeToString (hex.go:100)", "main.remember (main.go:7)", "main.main (main.go:10)"},
				AllocatedIn: []string{"encoding/hex.EncodeToString"},
				LiveBytes:   5 << 20, GrowthBytesPerSecond: 1024, Verdict: analysis.VerdictWatch, Score: 0.1,
				Reason:   "only 2 GC cycles observed (a leak needs 3 with no survivor freed, or 8 past the overdue age)",
				StackIDs: []int32{8},
			}},
			PreAttachFrees: 17,
			GC: &GCRegime{GCRegime: analysis.GCRegime{WatchedSeconds: 300, GCCycles: 1520, CyclesPerMinute: 304, SecondsSinceGC: 0.2,
				Summary: "frequent GC (304.0 per minute): a leak can be named 50 s after attach"},
				GOGC: "400", Settings: "GOGC=400 (environment at exec)"},
		}},
		ProbeSets: 1,
		Skipped:   []Skipped{{PID: 4243, Exe: "sh", ContainerID: "0123abcd", Reason: "not a Go binary", At: time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC)}},
	}
}

func TestJSONRoundTrip(t *testing.T) {
	dir := t.TempDir()
	doc := sampleDoc()
	if err := WriteJSON(dir, doc); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, SuspectsFile))
	if err != nil {
		t.Fatal(err)
	}
	var back Document
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, doc) {
		t.Fatalf("round trip changed the document:\n got %+v\nwant %+v", back, *doc)
	}
	// The contract's names, as a reader without our types sees them.
	var m struct {
		GeneratedAt string           `json:"generated_at"`
		Targets     []map[string]any `json:"targets"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339, m.GeneratedAt); err != nil {
		t.Errorf("generated_at %q: %v", m.GeneratedAt, err)
	}
	for _, k := range []string{"pid", "exe", "go_version", "memprofilerate", "gc_cycles", "sampled_allocs",
		"sampled_frees", "lost", "suspects", "memprofilerate_set_by_leakscope", "events", "status", "pre_attach_frees", "gc_regime"} {
		if _, ok := m.Targets[0][k]; !ok {
			t.Errorf("target lacks %q", k)
		}
	}
	gc := m.Targets[0]["gc_regime"].(map[string]any)
	for _, k := range []string{"cycles_per_minute", "seconds_since_gc", "gc_cycles", "watched_seconds", "summary", "settings", "gogc"} {
		if _, ok := gc[k]; !ok {
			t.Errorf("gc_regime lacks %q", k)
		}
	}
	watch := m.Targets[0]["suspects"].([]any)[1].(map[string]any)
	if watch["reason"] == "" || watch["allocated_in"].([]any)[0] != "encoding/hex.EncodeToString" {
		t.Errorf("watch suspect lacks reason or allocated_in: %v", watch)
	}
	if _, ok := m.Targets[0]["error"]; ok {
		t.Errorf("empty error not omitted")
	}
}

func TestJSONEmptyListsAreNotNull(t *testing.T) {
	dir := t.TempDir()
	doc := &Document{Targets: []Target{{PID: 1, Status: StatusStarting}}}
	if err := WriteJSON(dir, doc); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, SuspectsFile))
	if strings.Contains(string(raw), "null") {
		t.Fatalf("null in %s", raw)
	}
	if doc.Targets[0].Lost != nil || doc.Targets[0].Suspects != nil {
		t.Fatalf("WriteJSON modified the caller's document")
	}
}

func TestJSONAtomicReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SuspectsFile)
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A reader holding the old file: it keeps its inode alive, so the
	// comparison below cannot be fooled by the file system reusing it.
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	before, _ := reader.Stat()
	doc := sampleDoc()
	for i := range 3 {
		doc.Targets[0].GCCycles = uint64(i)
		if err := WriteJSON(dir, doc); err != nil {
			t.Fatal(err)
		}
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Replaced by rename, not rewritten in place: a reader holding the
	// old file keeps reading the old, complete content.
	if os.SameFile(before, after) {
		t.Fatal("suspects.json was rewritten in place")
	}
	if old, _ := io.ReadAll(reader); string(old) != "old" {
		t.Fatalf("a reader of the old file read %q, want the old, complete content", old)
	}
	if after.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", after.Mode().Perm())
	}
	var back Document
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &back); err != nil || back.Targets[0].GCCycles != 2 {
		t.Fatalf("content after replace: %v %s", err, raw)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestJSONWriteErrorLeavesNoTemp(t *testing.T) {
	if err := WriteJSON(filepath.Join(t.TempDir(), "missing"), sampleDoc()); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

// Frees of objects sampled before attach are counted apart, not as lost.
func TestObservePreAttachFrees(t *testing.T) {
	var tg Target
	tg.Observe(&snapshot.Snapshot{PID: 3, Losses: map[string]uint64{PreAttachFreesReason: 12, "live_map_full": 2}})
	if tg.PreAttachFrees != 12 || len(tg.Lost) != 1 || tg.Lost["live_map_full"] != 2 {
		t.Fatalf("pre-attach %d, lost %v", tg.PreAttachFrees, tg.Lost)
	}
}
