package gobin

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSpecialIDs builds testdata/selfpcs (method values, generated
// equality functions) with this and two older toolchains whose funcID
// numbering differs, and checks the IDs read from each.
func TestSpecialIDs(t *testing.T) {
	for _, f := range []fixture{{GOARCH: "amd64"}, {GOARCH: "amd64", PIE: true, LDFlags: ldStripped}, {Toolchain: "go1.21.13", GOARCH: "amd64"}, {Toolchain: "go1.22.12", GOARCH: "amd64"}} {
		t.Run(f.Name(), func(t *testing.T) {
			work := t.TempDir()
			out := filepath.Join(work, "selfpcs")
			if err := f.Build(work, out, filepath.Join("..", "testdata", "selfpcs", "main.go")); err != nil {
				failBuild(t, f, err)
			}
			b, err := Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			checkSpecialIDs(t, b)
		})
	}
}

// checkSpecialIDs verifies the funcIDs derived for wrapper elision: the
// compiler marks method value wrappers (-fm) and generated equality
// functions either normal or FuncIDWrapper, never anything else.
func checkSpecialIDs(t *testing.T, b *Binary) {
	t.Helper()
	ft, err := b.funcs()
	if err != nil {
		t.Fatal(err)
	}
	if !ft.ids.known {
		t.Fatalf("special funcIDs not found: %+v", ft.ids)
	}
	wrappers := 0
	for i := 0; i < ft.tab.nfunc; i++ {
		_, off := ft.tab.ftabEntry(i)
		f, ok := ft.tab.decodeFunc(uint64(off))
		if !ok {
			t.Fatalf("function %d does not decode", i)
		}
		name := ft.tab.funcName(f.nameOff)
		if !strings.HasSuffix(name, "-fm") && !strings.HasPrefix(name, "type:.eq.") && !strings.HasPrefix(name, "type..eq.") {
			continue
		}
		switch f.funcID {
		case 0:
		case ft.ids.wrapper:
			wrappers++
		default:
			t.Errorf("%s has funcID %d, want 0 or the wrapper ID %d", name, f.funcID, ft.ids.wrapper)
		}
	}
	if wrappers == 0 {
		t.Errorf("no function has the derived wrapper funcID %d", ft.ids.wrapper)
	}
}
