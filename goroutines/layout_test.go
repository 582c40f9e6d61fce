package goroutines_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/testutil"
)

// TestLayoutTable checks the committed table against the DWARF of a
// program built with the machine's toolchain, for amd64 and arm64: a
// mismatch means the table must be regenerated
// (go run ./goroutines/internal/genlayouts). make matrix checks every
// release (matrix/goroutines_test.go).
func TestLayoutTable(t *testing.T) {
	work := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		checkLayout(t, work, testutil.GoBuild{GOARCH: arch})
	}
}

func checkLayout(t *testing.T, work string, b testutil.GoBuild) {
	t.Helper()
	bin, err := testutil.BuildEmptyProgram(work, b)
	if errors.Is(err, testutil.ErrToolchain) {
		t.Skipf("%s: %v", b.Name(), err)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := goroutines.LayoutFromDWARF(bin)
	if err != nil {
		t.Fatal(err)
	}
	got.Release = testutil.MinorRelease(b.Toolchain)
	want, err := goroutines.LayoutFor(got.Release+".0", got.Arch)
	if err != nil {
		t.Fatalf("%s: %v: regenerate the table (go run ./goroutines/internal/genlayouts)", b.Name(), err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: the DWARF says\n%+v\nthe table says\n%+v\nregenerate it (go run ./goroutines/internal/genlayouts)", b.Name(), got, want)
	}
}

// TestLayoutForUnknown: a release the table does not hold is a clear
// error, never a guess.
func TestLayoutForUnknown(t *testing.T) {
	for _, v := range []string{"go1.18.10", "go1.99.1", "", "devel +abc"} {
		if _, err := goroutines.LayoutFor(v, "amd64"); !errors.Is(err, goroutines.ErrUnknownLayout) {
			t.Errorf("LayoutFor(%q): %v, want ErrUnknownLayout", v, err)
		}
	}
	if _, err := goroutines.LayoutFor("go1.26.8", "riscv64"); !errors.Is(err, goroutines.ErrUnknownLayout) {
		t.Errorf("riscv64: %v, want ErrUnknownLayout", err)
	}
}

// TestWaitReasonNames: the names a user greps a traceback for.
func TestWaitReasonNames(t *testing.T) {
	l, err := goroutines.LayoutFor("go1.26.8", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for r := 0; r < 256; r++ {
		names[l.WaitReasonName(uint8(r))] = true
	}
	for _, want := range []string{"chan send", "chan receive", "select", "IO wait", "sync.Mutex.Lock", "sleep", "sync.WaitGroup.Wait"} {
		if !names[want] {
			t.Errorf("no wait reason named %q in go1.26", want)
		}
	}
	if got := l.StatusName(4 | 0x1000); got != "waiting" {
		t.Errorf("status _Gscanwaiting named %q, want waiting", got)
	}
}
