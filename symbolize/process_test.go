package symbolize

import (
	"strings"
	"testing"

	"github.com/leakscope/leakscope/gobin"
)

func TestForeignName(t *testing.T) {
	libc := &procMapping{Mapping: Mapping{Start: 0x7f1c2a028000, End: 0x7f1c2a1bd000, Perms: "r-xp", Offset: 0x28000, Path: "/usr/lib/x86_64-linux-gnu/libc.so.6"}}
	vdso := &procMapping{Mapping: Mapping{Start: 0x7ffd1c5e5000, End: 0x7ffd1c5e7000, Perms: "r-xp", Path: "[vdso]"}}
	gone := &procMapping{Mapping: Mapping{Start: 0x1000, End: 0x2000, Perms: "r-xp", Offset: 0x3000, Path: "/tmp/plugin.so (deleted)"}}
	anon := &procMapping{Mapping: Mapping{Start: 0xc000000000, End: 0xc000400000, Perms: "rwxp"}}
	for _, tc := range []struct {
		m    *procMapping
		pc   uint64
		want string
	}{
		{libc, 0x7f1c2a029a2b, "libc.so.6+0x29a2b"},
		{vdso, 0x7ffd1c5e5b10, "[vdso]+0xb10"},
		{gone, 0x1010, "plugin.so+0x3010"},
		{anon, 0xc000000123, "0xc000000123"},
		{nil, 0xdead, "0xdead"},
	} {
		if got := foreignName(tc.m, tc.pc); got != tc.want {
			t.Errorf("foreignName(%v, %#x) = %q, want %q", tc.m, tc.pc, got, tc.want)
		}
	}
}

// funcEntry finds the link-time entry of the named function.
func funcEntry(t *testing.T, b *gobin.Binary, name string) uint64 {
	t.Helper()
	f, err := b.Function(name)
	if err != nil {
		t.Fatal(err)
	}
	return f.Entry
}

// openBinary opens the executable at path for the test.
func openBinary(t *testing.T, path string) *gobin.Binary {
	t.Helper()
	b, err := gobin.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// framesAt symbolizes one link-time address of b with no stack around it.
func framesAt(b *gobin.Binary, pc uint64) []Frame {
	return toFrames(selectFrames(b, b.Expand(pc), 0, false), pc)
}

// TestSymbolizeSyntheticMaps places a PIE build of the fixture at a made-up
// load address next to made-up libraries, and checks that every address
// gets its frames and none is dropped.
func TestSymbolizeSyntheticMaps(t *testing.T) {
	path := buildFixture(t, buildVariant{name: "pie", flags: []string{"-buildmode=pie"}})
	b := openBinary(t, path)
	const base = 0x555555554000 // where the first segment's page lands
	text := b.Segments()[0]
	if !text.Exec {
		t.Fatalf("first segment is not code: %+v", b.Segments())
	}
	bias := base - (text.Vaddr - text.Offset)
	maps := []Mapping{
		{Start: 0x7f0000028000, End: 0x7f00001bd000, Perms: "r-xp", Offset: 0x28000, Inode: 9, Path: "/usr/lib/libc.so.6"},
		{Start: base, End: base + (text.Filesz+0xfff)&^0xfff, Perms: "r-xp", Inode: 7, Path: path},
		{Start: 0x7ffd00001000, End: 0x7ffd00003000, Perms: "r-xp", Path: "[vdso]"},
	}
	pms, err := newProcMappings(maps, b, func(m Mapping) bool { return m.Path == path })
	if err != nil {
		t.Fatal(err)
	}
	if pms[0].Path != path || !pms[0].exe || pms[0].bias != bias {
		t.Fatalf("executable mapping %+v, want bias %#x", pms[0], bias)
	}
	p := &Process{exe: b, maps: pms}

	outer := funcEntry(t, b, "main.outer") + bias
	pcs := []uint64{
		outer,          // exact: a probed function entry
		base + 0x10,    // in the executable, but the ELF header, not Go code
		0x7f0000029000, // libc
		0x7ffd00001234, // vdso
		0x10,           // nowhere
	}
	got := p.Symbolize(pcs)
	if len(got) != len(pcs) {
		t.Fatalf("Symbolize returned %d frames for %d PCs: %+v", len(got), len(pcs), got)
	}
	if got[0].Function != "main.outer" || !strings.HasSuffix(got[0].File, "testdata/selfpcs/main.go") || got[0].Line == 0 || got[0].PC != outer {
		t.Errorf("frame 0 = %+v, want main.outer in the fixture", got[0])
	}
	base0 := path[strings.LastIndexByte(path, '/')+1:]
	for i, want := range []string{base0 + "+0x10", "libc.so.6+0x29000", "[vdso]+0x234", "0x10"} {
		if f := got[i+1]; f.Function != want || f.PC != pcs[i+1] {
			t.Errorf("frame %d = %+v, want %s", i+1, f, want)
		}
	}
	// The same function by link-time address.
	if fs := framesAt(b, outer-bias); len(fs) != 1 || fs[0].Function != "main.outer" || fs[0].PC != outer-bias {
		t.Errorf("frames at main.outer = %+v", fs)
	}
	if fs := framesAt(b, 0x10); fs != nil {
		t.Errorf("frames at 0x10 = %+v, want nil", fs)
	}
}

func TestNewProcMappingsNeedsExecutable(t *testing.T) {
	path := buildFixture(t, buildVariant{name: "default"})
	b := openBinary(t, path)
	maps := []Mapping{{Start: 0x400000, End: 0x500000, Perms: "r-xp", Path: "/other"}}
	if _, err := newProcMappings(maps, b, func(m Mapping) bool { return m.Path == path }); err == nil {
		t.Error("newProcMappings accepted maps without the executable")
	}
}
