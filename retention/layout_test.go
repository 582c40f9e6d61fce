package retention_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/retention"
)

// TestHeapLayoutTable checks the committed table against the DWARF of a
// program built with the machine's toolchain, for amd64 and arm64: a
// mismatch means the table must be regenerated
// (go run ./retention/internal/genlayouts).
func TestHeapLayoutTable(t *testing.T) {
	work := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		b := testutil.GoBuild{GOARCH: arch}
		bin, err := testutil.BuildEmptyProgram(work, b)
		if errors.Is(err, testutil.ErrToolchain) {
			t.Skipf("%s: %v", b.Name(), err)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := retention.LayoutFromDWARF(bin)
		if err != nil {
			t.Fatal(err)
		}
		got.Release = testutil.MinorRelease(b.Toolchain)
		want, err := retention.LayoutFor(got.Release+".0", got.Arch)
		if err != nil {
			t.Fatalf("%s: %v: regenerate the table (go run ./retention/internal/genlayouts)", b.Name(), err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the DWARF says\n%+v\nthe table says\n%+v\nregenerate it (go run ./retention/internal/genlayouts)", b.Name(), got, want)
		}
	}
}

// TestHeapLayoutForUnknown: a release the table does not hold is a clear
// error, never a guess.
func TestHeapLayoutForUnknown(t *testing.T) {
	for _, v := range []string{"go1.18.10", "go1.99.1", "", "devel +abc"} {
		if _, err := retention.LayoutFor(v, "amd64"); !errors.Is(err, retention.ErrUnknownLayout) {
			t.Errorf("LayoutFor(%q): %v, want ErrUnknownLayout", v, err)
		}
	}
	if _, err := retention.LayoutFor("go1.26.8", "riscv64"); !errors.Is(err, retention.ErrUnknownLayout) {
		t.Errorf("riscv64: %v, want ErrUnknownLayout", err)
	}
}
