package retention_test

import (
	"path/filepath"
	"testing"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/retention"
)

// TestLocateArenas: the arena index the symbol table gives must be the one
// runtime.findObject's code reads, on amd64 and arm64 (decoding only), and
// a stripped build must find the same address by decoding alone.
func TestLocateArenas(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(testutil.ModuleRoot(t), "testdata", "holders", "main.go")
	for _, arch := range []string{"amd64", "arm64"} {
		var withSyms uint64
		for _, ld := range []string{"", "-s -w"} {
			b := testutil.GoBuild{GOARCH: arch, LDFlags: ld}
			bin := filepath.Join(dir, "holders-"+b.Name())
			if err := b.Build(dir, bin, src); err != nil {
				t.Fatal(err)
			}
			exe, err := gobin.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer exe.Close()
			l, err := retention.LayoutFor(exe.GoVersion(), exe.Arch())
			if err != nil {
				t.Fatal(err)
			}
			a, err := retention.LocateArenas(retention.FromGobin(exe), l)
			if err != nil {
				t.Fatalf("%s: %v", b.Name(), err)
			}
			// Stripping can shift the data sections (a smaller .rodata):
			// compare offsets within the section.
			sec := exe.SectionName(a.Addr, 8)
			start, _, _ := exe.Section(sec)
			rel := a.Addr - start
			t.Logf("%s: arenas at %#x = %s+%#x (%s)", b.Name(), a.Addr, sec, rel, a.How)
			if ld == "" {
				withSyms = rel
				if a.How != "symbol table, confirmed by decoding runtime.findObject" {
					t.Errorf("%s: %s, want the symbol confirmed by decoding", b.Name(), a.How)
				}
			} else if rel != withSyms {
				t.Errorf("%s: stripped build decodes %s+%#x, the symbol table said +%#x", b.Name(), sec, rel, withSyms)
			}
		}
	}
}
