package retention_test

import (
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/retention"
)

// TestSearchTypedHolders: from Go 1.22 the holders are named by the type
// the runtime records (a Session's allocation header, the large backing
// array's span), the map's internals collapse into one map[K]V hop,
// and an untyped holder that is a sampled object is named by its
// allocation site. Go 1.21 records no type: sizes only. Stripped
// binaries name types too (moduledata is found without symbols).
func TestSearchTypedHolders(t *testing.T) {
	for _, c := range []struct {
		b     testutil.GoBuild
		typed bool
	}{
		{testutil.GoBuild{GOARCH: "amd64"}, true},
		{testutil.GoBuild{GOARCH: "amd64", LDFlags: "-s -w"}, true},
		{testutil.GoBuild{GOARCH: "amd64", PIE: true}, true},
		{testutil.GoBuild{GOARCH: "amd64", Toolchain: "go1.22.12"}, true}, // map.bucket, hmap
		{testutil.GoBuild{GOARCH: "amd64", Toolchain: "go1.23.12"}, true},
		{testutil.GoBuild{GOARCH: "amd64", Toolchain: "go1.24.13"}, true}, // first swiss maps
		{testutil.GoBuild{GOARCH: "amd64", Toolchain: "go1.27.4"}, true},  // moduledata with typedesclen
		{testutil.GoBuild{GOARCH: "amd64", Toolchain: "go1.21.13"}, false},
	} {
		t.Run(c.b.Name(), func(t *testing.T) {
			h := startFixture(t, "typedholders", c.b, retention.Config{})
			box := h.targets["box"]
			if box == 0 {
				t.Fatalf("the fixture printed no box address: %v", h.proc.Lines())
			}
			h.s.SetSampled(map[uint64]string{box: "main.newBox"})
			paths := h.search(t, "session", "big", "boxed")
			for name, want := range map[string][]string{
				// root, holders..., the leaked object
				"session": {"main.sessions", "map[string]*main.Session", "main.Session"},
				"big":     {"main.bigs", "[]*main.Big", "main.Big"},
				"boxed":   {"main.boxed", "object of 8 B allocated in main.newBox", "main.Session"},
			} {
				p := paths[name]
				if len(p.Hops) < 2 {
					t.Errorf("%s: no path (%s)", name, p.Why)
					continue
				}
				var got, types []string
				for _, hp := range p.Hops {
					got, types = append(got, hp.Name), append(types, hp.Type)
				}
				t.Logf("%s: recorded types %q", name, types)
				if c.b.LDFlags == "" && got[0] != want[0] {
					t.Errorf("%s: root %q, want %s", name, got[0], want[0])
				}
				if !c.typed {
					// No type anywhere, and no guess.
					for _, hp := range p.Hops[1:] {
						if hp.Type != "" || !strings.HasPrefix(hp.Name, "object of ") {
							t.Errorf("%s: %s names %q (type %q) without allocation headers", name, c.b.Name(), hp.Name, hp.Type)
						}
					}
					continue
				}
				if strings.Join(got[1:], " -> ") != strings.Join(want[1:], " -> ") {
					t.Errorf("%s: holders %q, want %q", name, got[1:], want[1:])
				}
			}
			r := retention.Summarize([]retention.Path{paths["session"]}, &retention.Result{}, time.Now())
			if c.typed && (len(r.Paths) != 1 || !strings.Contains(r.Paths[0].Summary, " -> map[string]*main.Session")) {
				t.Errorf("session summary: %+v", r.Paths)
			}
		})
	}
}

// TestTypeSectionMatchesSymbols: moduledata's types section, found without
// symbols, is the one the symbol table names (runtime.types,
// runtime.etypes).
func TestTypeSectionMatchesSymbols(t *testing.T) {
	for _, b := range []testutil.GoBuild{{GOARCH: "amd64"}, {GOARCH: "arm64"}, {GOARCH: "amd64", Toolchain: "go1.19.13"}, {GOARCH: "amd64", Toolchain: "go1.27.4"}} {
		t.Run(b.Name(), func(t *testing.T) {
			bin, err := testutil.BuildEmptyProgram(t.TempDir(), b)
			if err != nil {
				t.Skipf("%s: %v", b.Name(), err)
			}
			exe, err := gobin.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer exe.Close()
			start, end, err := exe.TypeSection()
			if err != nil {
				t.Fatal(err)
			}
			ws, _, ok1 := exe.DataSymbol("runtime.types")
			we, _, ok2 := exe.DataSymbol("runtime.etypes")
			if !ok1 || !ok2 {
				t.Fatalf("no runtime.types/etypes symbols")
			}
			if start != ws || end != we {
				t.Errorf("types section [%#x, %#x), symbols say [%#x, %#x)", start, end, ws, we)
			}
			f := gobin.TypeFields{TFlag: 20, Str: 40, ExtraStar: 2}
			for _, bad := range []uint64{0, start - 8, end, end - 8, start + 4, ^uint64(0) &^ 7} {
				if name, _, err := exe.TypeName(bad, f); err == nil {
					t.Errorf("TypeName(%#x) = %q, accepted outside the descriptors", bad, name)
				}
			}
			// Garbage inside the section (any aligned word, descriptor or
			// not): an error or a name, never a panic.
			named := 0
			for a := start; a < min(end, start+64<<10); a += 8 {
				if name, _, err := exe.TypeName(a, f); err == nil && name != "" {
					named++
				}
			}
			if named == 0 {
				t.Errorf("no type named in the first 64 KiB of the types section")
			}
		})
	}
}
