package retention_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/retention"
	"github.com/leakscope/leakscope/symbolize"
)

// holders is a running testdata/holders and a Searcher on it.
type holders struct {
	proc    *testutil.Process
	s       *retention.Searcher
	targets map[string]uint64 // "map", "slice", "field", "frame" -> address
}

func startHolders(t testing.TB, b testutil.GoBuild, args ...string) *holders {
	t.Helper()
	return startHoldersConfig(t, b, retention.Config{}, args...)
}

func startHoldersConfig(t testing.TB, b testutil.GoBuild, cfg retention.Config, args ...string) *holders {
	t.Helper()
	return startFixture(t, "holders", b, cfg, args...)
}

// startFixture runs testdata/<fixture> built with b, reads the "name
// 0x..." lines it prints before "ready" and opens a Searcher on it.
func startFixture(t testing.TB, fixture string, b testutil.GoBuild, cfg retention.Config, args ...string) *holders {
	t.Helper()
	testutil.RequireBPF(t) // reading another process's memory needs root
	dir := t.TempDir()
	bin := filepath.Join(dir, fixture+"-"+b.Name())
	src := filepath.Join(testutil.ModuleRoot(t), "testdata", fixture, "main.go")
	if err := b.Build(dir, bin, src); errors.Is(err, testutil.ErrToolchain) {
		t.Skipf("%s: %v", b.Name(), err)
	} else if err != nil {
		t.Fatal(err)
	}
	p := testutil.StartInteractive(t, bin, args...)
	p.WaitLine(t, "ready", 120*time.Second)
	h := &holders{proc: p, targets: map[string]uint64{}}
	for _, l := range p.Lines() {
		k, v, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		a, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
		if err != nil {
			t.Fatalf("fixture line %q: %v", l, err)
		}
		h.targets[k] = a
	}
	exe, err := gobin.Open(fmt.Sprintf("/proc/%d/exe", p.PID()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exe.Close() })
	sym, err := symbolize.OpenProcess(p.PID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mem := goroutines.ProcessMemory{PID: p.PID()}
	gr, err := goroutines.NewReader(goroutines.FromGobin(exe), mem, sym.Bias(), goroutines.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h.s, err = retention.NewSearcher(retention.FromGobin(exe), mem, p.PID(), sym.Bias(), gr, cfg)
	if err != nil {
		t.Fatalf("NewSearcher (%s): %v", exe.GoVersion(), err)
	}
	return h
}

func (h *holders) search(t *testing.T, names ...string) map[string]retention.Path {
	t.Helper()
	var addrs []uint64
	for _, n := range names {
		a, ok := h.targets[n]
		if !ok {
			t.Fatalf("the fixture printed no %q address: %v", n, h.proc.Lines())
		}
		addrs = append(addrs, a)
	}
	res, err := h.s.Search(addrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("searched %d levels, %d spans, %d KiB in %v; dropped %v", res.Depth, res.Spans, res.ScannedBytes>>10, res.Duration, res.Dropped)
	out := map[string]retention.Path{}
	for i, p := range res.Paths {
		out[names[i]] = p
		t.Logf("%s %#x: %s %s", names[i], p.Target, describe(p), p.Why)
	}
	return out
}

func describe(p retention.Path) string {
	var parts []string
	for _, h := range p.Hops {
		s := h.Kind + ":" + h.Name
		if h.Kind == retention.KindFrame {
			s += fmt.Sprintf("(goroutine %d, %s:%d, created by %s)", h.Goroutine, filepath.Base(h.File), h.Line, h.CreatedBy)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " -> ")
}

// TestSearchHolders: each of the fixture's objects is traced to the
// holder the program keeps it in, root first, the object last.
func TestSearchHolders(t *testing.T) {
	builds := []testutil.GoBuild{{GOARCH: "amd64"}, {GOARCH: "amd64", LDFlags: "-s -w"}, {GOARCH: "amd64", PIE: true},
		// Before allocation headers and 16-bit span indices, and before
		// swiss maps.
		{GOARCH: "amd64", Toolchain: "go1.21.13"}, {GOARCH: "amd64", Toolchain: "go1.19.13"}}
	for _, b := range builds {
		t.Run(b.Name(), func(t *testing.T) {
			h := startHolders(t, b)
			paths := h.search(t, "map", "slice", "field", "frame")
			stripped := b.LDFlags != ""
			want := map[string]string{"map": "main.sessions", "slice": "main.cache", "field": "main.registry", "frame": "main.hold"}
			for name, root := range want {
				p := paths[name]
				if len(p.Hops) < 2 {
					t.Errorf("%s: no path (%s)", name, p.Why)
					continue
				}
				first, last := p.Hops[0], p.Hops[len(p.Hops)-1]
				if last.Kind != retention.KindLeaked || last.Addr > p.Target || p.Target >= last.Addr+last.Size {
					t.Errorf("%s: the path ends at %+v, not at the object %#x", name, last, p.Target)
				}
				wantKind := retention.KindGlobal
				if name == "frame" {
					wantKind = retention.KindFrame
				}
				if first.Kind != wantKind {
					t.Errorf("%s: root %s %s, want a %s", name, first.Kind, first.Name, wantKind)
					continue
				}
				switch {
				case name == "frame" && (first.Name != root || first.CreatedBy == "" || !strings.HasSuffix(first.File, "main.go")):
					t.Errorf("frame: root %+v, want %s in main.go created by main.main", first, root)
				case name == "frame" && !first.Precise:
					t.Errorf("frame: root %s found by scanning conservatively, want by its stack map (a live pointer slot)", first.Name)
				case name != "frame" && stripped && !strings.HasPrefix(first.Name, ".bss+") && !strings.HasPrefix(first.Name, ".data+"):
					t.Errorf("%s: stripped root %q, want a segment offset", name, first.Name)
				case name != "frame" && !stripped && first.Name != root:
					t.Errorf("%s: root %q, want %s", name, first.Name, root)
				}
			}
			// The three globals are three different variables.
			if r := []string{paths["map"].Root(), paths["slice"].Root(), paths["field"].Root()}; r[0] == r[1] || r[1] == r[2] || r[0] == r[2] {
				t.Errorf("roots %q are not three distinct variables", r)
			}
		})
	}
}

// TestSearchAfterDelete: once the program deletes the map entry and two
// GCs pass, no stale path names the map.
func TestSearchAfterDelete(t *testing.T) {
	h := startHolders(t, testutil.GoBuild{GOARCH: "amd64"})
	if p := h.search(t, "map")["map"]; p.Root() != "main.sessions" {
		t.Fatalf("before delete: root %q (%s), want main.sessions", p.Root(), p.Why)
	}
	if err := h.proc.Send("delete"); err != nil {
		t.Fatal(err)
	}
	h.proc.WaitLine(t, "deleted", 30*time.Second)
	p := h.search(t, "map")["map"]
	if len(p.Hops) > 0 {
		t.Errorf("after delete and two GCs: still held by %s", describe(p))
	}
	if p.Why == "" {
		t.Errorf("no path and no reason")
	}
}

// TestSearchTargetExits: a target gone before or during a search is a
// clear error (goroutines.ErrGone), never a panic or a stale path.
func TestSearchTargetExits(t *testing.T) {
	h := startHolders(t, testutil.GoBuild{GOARCH: "amd64"})
	if err := h.proc.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = h.proc.Wait(t, 10*time.Second)
	res, err := h.s.Search([]uint64{h.targets["map"]})
	if !errors.Is(err, goroutines.ErrGone) {
		t.Errorf("search of an exited target: %v, %+v; want ErrGone", err, res)
	}
}

// TestSearchModes: the forward mark (heap kept) and the level-by-level
// reverse search (heap too large to keep) name the same holders; only the
// forward mark reaches the far end of a 5000-node list, which it names
// as a chain.
func TestSearchModes(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  retention.Config
	}{{"forward", retention.Config{}}, {"reverse", retention.Config{MaxCache: -1}}} {
		t.Run(c.name, func(t *testing.T) {
			h := startHoldersConfig(t, testutil.GoBuild{GOARCH: "amd64"}, c.cfg)
			paths := h.search(t, "map", "slice", "field", "frame", "list")
			for name, root := range map[string]string{"map": "main.sessions", "slice": "main.cache", "field": "main.registry", "frame": "main.hold"} {
				if got := paths[name].Root(); got != root {
					t.Errorf("%s: root %q (%s), want %s", name, got, paths[name].Why, root)
				}
			}
			list := paths["list"]
			switch c.name {
			case "forward":
				if list.Root() != "main.events" || len(list.Hops) != 5001 {
					t.Errorf("list: root %q, %d hops (%s); want main.events and 5000 nodes then the object", list.Root(), len(list.Hops), list.Why)
				}
				r := retention.Summarize([]retention.Path{list}, &retention.Result{}, time.Now())
				if len(r.Paths) != 1 || !strings.Contains(r.Paths[0].Summary, "a chain of 4999 objects of 64 B") || len(r.Paths[0].Hops) != 3 || r.Paths[0].Hops[1].Kind != retention.KindChain {
					t.Errorf("list summary: %+v", r.Paths)
				}
			case "reverse":
				if len(list.Hops) != 0 || !strings.Contains(list.Why, "depth") {
					t.Errorf("list: %s (%s), want none within the depth", describe(list), list.Why)
				}
			}
		})
	}
}

// TestSearchDeadFrameSlot: an object whose only pointer sits in a frame
// slot that is dead where the goroutine is parked (the garbage collector
// would free it) has no holder: the frame's stack map says the slot is
// not live, and the search counts it dropped rather than naming the frame.
// Reverse mode: the one level searched is the object alone, so the count
// is the slot's.
func TestSearchDeadFrameSlot(t *testing.T) {
	for _, b := range []testutil.GoBuild{{GOARCH: "amd64"}, {GOARCH: "amd64", Toolchain: "go1.21.13"}} {
		t.Run(b.Name(), func(t *testing.T) {
			h := startHoldersConfig(t, b, retention.Config{MaxCache: -1})
			res, err := h.s.Search([]uint64{h.targets["dead"]})
			if err != nil {
				t.Fatal(err)
			}
			p := res.Paths[0]
			t.Logf("dead %#x: %s (%s); dropped %v", p.Target, describe(p), p.Why, res.Dropped)
			if len(p.Hops) > 0 && p.Hops[0].Kind == retention.KindFrame {
				t.Errorf("the dead slot was named as the holder: %s", describe(p))
			}
			if res.Dropped[retention.LostDeadSlot] == 0 {
				t.Errorf("no dead frame slot counted: the fixture's stale pointer was not met (dropped %v)", res.Dropped)
			}
		})
	}
}
