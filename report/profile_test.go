package report

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/snapshot"
	"github.com/leakscope/leakscope/symbolize"
)

// symbolizer resolves a fixed table of PCs, expanding inlined frames.
type symbolizer map[uint64][]symbolize.Frame

func (s symbolizer) Symbolize(pcs []uint64) []symbolize.Frame {
	var out []symbolize.Frame
	for _, pc := range pcs {
		out = append(out, s[pc]...)
	}
	return out
}

func fr(pc uint64, fn, file string, line int, inlined bool) symbolize.Frame {
	return symbolize.Frame{PC: pc, Function: fn, File: file, Line: line, Inlined: inlined}
}

// A leak at main.leak, inlined into main.fill, called by main.main; and
// churn at main.handle. Both stacks start with runtime allocation frames.
func testSymbolizer() symbolizer {
	return symbolizer{
		0x401000: {fr(0x401000, "runtime.mallocgc", "/go/src/runtime/malloc.go", 1000, false)},
		0x402000: {fr(0x402000, "runtime.growslice", "/go/src/runtime/slice.go", 200, false)},
		0x403000: {fr(0x403000, "runtime.newobject", "/go/src/runtime/malloc.go", 1700, false)},
		0x404000: {
			fr(0x404000, "main.leak", "/src/app/leak.go", 12, true),
			fr(0x404000, "main.fill", "/src/app/leak.go", 30, false),
		},
		0x405000: {fr(0x405000, "main.main", "/src/app/main.go", 9, false)},
		0x406000: {fr(0x406000, "main.handle", "/src/app/server.go", 77, false)},
	}
}

// testStacks runs two snapshots through analysis and returns its stacks.
func testStacks(t *testing.T) []analysis.Stack {
	t.Helper()
	tg := analysis.NewTarget(analysis.Config{})
	snap := func(sec int) *snapshot.Snapshot {
		return &snapshot.Snapshot{
			PID: 4242, Time: time.Unix(int64(1_700_000_000+sec), 0), GCCycles: uint64(sec),
			MemProfileRate: 512 * 1024,
			Stacks: map[int32]*snapshot.StackStats{
				1: {StackID: 1, PCs: []uint64{0x401000, 0x402000, 0x404000, 0x405000},
					Allocs: 100, AllocBytes: 100 << 20, LiveObjects: 90, LiveBytes: 90 << 20,
					LiveAges: []uint64{10, 20, 60}, Frees: 10, FreeBytes: 10 << 20},
				2: {StackID: 2, PCs: []uint64{0x401000, 0x403000, 0x406000, 0x405000},
					Allocs: 5000, AllocBytes: 5000 * 64, LiveObjects: 10, LiveBytes: 640,
					LiveAges: []uint64{10}, Frees: 4990, FreeBytes: 4990 * 64},
			},
		}
	}
	tg.Add(snap(0), testSymbolizer())
	tg.Add(snap(10), testSymbolizer())
	st := tg.Stacks()
	if len(st) != 2 {
		t.Fatalf("analysis returned %d stacks, want 2", len(st))
	}
	return st
}

func testInfo() TargetInfo {
	return TargetInfo{PID: 4242, Exe: "/srv/app", BuildID: "abc123", GoVersion: "go1.24.1",
		MemProfileRate: 512 * 1024, Time: time.Unix(1_700_000_010, 0)}
}

func TestProfileRoundTrip(t *testing.T) {
	stacks := testStacks(t)
	var buf bytes.Buffer
	if err := writeProfile(&buf, testInfo(), stacks); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte{0x1f, 0x8b}) {
		t.Fatal("profile is not gzip-compressed")
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, st := range p.SampleType {
		types = append(types, st.Type+"/"+st.Unit)
	}
	if got := strings.Join(types, " "); got != "inuse_objects/count inuse_space/bytes alloc_objects/count alloc_space/bytes gc_cycles_survived/count" {
		t.Fatalf("sample types = %s", got)
	}
	if p.DefaultSampleType != "inuse_space" || p.PeriodType.Type != "space" || p.PeriodType.Unit != "bytes" || p.Period != 512*1024 {
		t.Fatalf("default %q period %v %d", p.DefaultSampleType, p.PeriodType, p.Period)
	}
	if len(p.Mapping) != 1 || p.Mapping[0].File != "/srv/app" || p.Mapping[0].BuildID != "abc123" || !p.Mapping[0].HasFunctions {
		t.Fatalf("mapping = %+v", p.Mapping)
	}
	if len(p.Sample) != len(stacks) {
		t.Fatalf("%d samples, want %d", len(p.Sample), len(stacks))
	}
	byLeaf := map[string]*profile.Sample{}
	for _, s := range p.Sample {
		byLeaf[s.Location[0].Line[0].Function.Name] = s
		if s.Label["pid"][0] != "4242" || s.Label["exe"][0] != "/srv/app" {
			t.Errorf("labels = %v", s.Label)
		}
		for _, l := range s.Location {
			for _, ln := range l.Line {
				if strings.HasPrefix(ln.Function.Name, "runtime.") {
					t.Errorf("runtime frame %s left in a sample", ln.Function.Name)
				}
			}
		}
	}
	leak, churn := byLeaf["main.leak"], byLeaf["main.handle"]
	if leak == nil || churn == nil {
		t.Fatalf("samples do not start at the leak sites: %v", byLeaf)
	}
	// Values as built, in sample-type order.
	for _, st := range stacks {
		s := byLeaf[st.Frames[0].Function]
		want := []int64{st.LiveObjects, st.LiveBytes, st.AllocObjects, st.AllocBytes, st.AgeGCCycles}
		for i := range want {
			if s.Value[i] != want[i] {
				t.Errorf("%s value[%d] = %d, want %d", st.Frames[0].Function, i, s.Value[i], want[i])
			}
		}
	}
	// main.leak is inlined into main.fill: one location, two lines,
	// innermost first; then main.main.
	if len(leak.Location) != 2 || len(leak.Location[0].Line) != 2 ||
		leak.Location[0].Line[1].Function.Name != "main.fill" || leak.Location[0].Address != 0x404000 ||
		leak.Location[1].Line[0].Function.Name != "main.main" {
		t.Fatalf("leak stack = %v", leak.Location)
	}
	// Functions and locations are shared, not duplicated (main.main).
	if leak.Location[1] != churn.Location[1] || len(p.Function) != 4 {
		t.Fatalf("not deduplicated: %d functions", len(p.Function))
	}
	if !strings.Contains(strings.Join(p.Comments, "\n"), "pid 4242") {
		t.Errorf("comments = %q", p.Comments)
	}
	// Mean age = gc_cycles_survived / inuse_objects: (0*10+1*20+2*60)/90.
	if mean := float64(leak.Value[4]) / float64(leak.Value[0]); mean < 1.5 || mean > 1.6 {
		t.Errorf("mean age %v, want 140/90", mean)
	}
}

func TestWriteProfileFile(t *testing.T) {
	dir := t.TempDir()
	path, err := writeProfileFile(dir, testInfo(), testStacks(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "4242", "leak-20231114T221330Z.pb.gz"); path != want {
		t.Fatalf("path = %s, want %s", path, want)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := profile.Parse(f); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestEmptyProfile(t *testing.T) {
	var buf bytes.Buffer
	if err := writeProfile(&buf, testInfo(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := profile.Parse(&buf); err != nil {
		t.Fatal(err)
	}
}

// The profile must work with the stock tool: `go tool pprof -top` lists
// the leaking function first.
func TestPprofTopShowsLeakFirst(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	path, err := writeProfileFile(t.TempDir(), testInfo(), testStacks(t))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "tool", "pprof", "-top", path)
	cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+t.TempDir(), "PPROF_BINARY_PATH="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof: %v\n%s", err, out)
	}
	t.Logf("go tool pprof -top:\n%s", out)
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if strings.Contains(l, "flat%") && i+1 < len(lines) {
			fields := strings.Fields(lines[i+1])
			if len(fields) < 6 || fields[5] != "main.leak" {
				t.Fatalf("first row %q, want main.leak:\n%s", lines[i+1], out)
			}
			return
		}
	}
	t.Fatalf("no table in pprof output:\n%s", out)
}

// writeProfile writes the gzip-compressed profile of stacks to w.
func writeProfile(w io.Writer, t TargetInfo, stacks []analysis.Stack) error {
	p, err := BuildProfile(t, stacks)
	if err != nil {
		return err
	}
	return p.Write(w)
}

// writeProfileFile writes the profile of stacks to ProfilePath(dir, t),
// atomically, creating the directory, and returns the path.
func writeProfileFile(dir string, t TargetInfo, stacks []analysis.Stack) (string, error) {
	p, err := BuildProfile(t, stacks)
	if err != nil {
		return "", err
	}
	return SaveProfile(dir, t, p)
}
