package analysis

import (
	"testing"

	"github.com/leakscope/leakscope/symbolize"
)

func TestIsRuntimeFrame(t *testing.T) {
	runtime := []string{
		"runtime.mallocgc",
		"runtime.profilealloc",
		"runtime.mallocgcSmallNoscan",
		"runtime.makeslice",
		"runtime.growslice",
		"runtime.newobject",
		"runtime.mapassign_faststr",
		"runtime.(*mcache).nextFree",
		"runtime.(*mheap).alloc.func1",
		"runtime.systemstack",
		"internal/runtime/maps.(*Map).PutSlot",
		"internal/runtime/maps.newarray",
		"runtime/internal/sys.Bswap64",
		"reflect.unsafe_New",
		"reflect.mapassign_faststr0",
		"internal/reflectlite.unsafe_New",
	}
	user := []string{
		"main.main",
		"main.leak",
		"main.(*T).grow",
		"main.main.func1",
		"runtime.example.org/pkg.F", // a module path starting "runtime."
		"example.com/runtime.F",     // a package named runtime
		"example.com/internal/runtime/maps.F",
		"runtimex.F",
		"runtime/debug.ReadGCStats", // std, but not the allocator
		"runtime/pprof.(*profileBuilder).build",
		"reflect.New",
		"main.F[go.shape.struct { runtime.x int }]",
		"github.com/x/y.G[...]",
		"libc.so.6+0x1a2b3",
		"",
	}
	for _, fn := range runtime {
		if !isRuntimeFrame(fn) {
			t.Errorf("isRuntimeFrame(%q) = false, want true", fn)
		}
	}
	for _, fn := range user {
		if isRuntimeFrame(fn) {
			t.Errorf("isRuntimeFrame(%q) = true, want false", fn)
		}
	}
}

func TestPackagePath(t *testing.T) {
	for fn, want := range map[string]string{
		"runtime.(*mcache).refill":              "runtime",
		"internal/runtime/maps.(*Map).PutSlot":  "internal/runtime/maps",
		"github.com/a/b.(*T).M":                 "github.com/a/b",
		"gopkg.in/yaml%2ev3.Unmarshal":          "gopkg.in/yaml%2ev3",
		"main.F[go.shape.*github.com/x/y.T]":    "main",
		"runtime.example.org/pkg.F":             "runtime.example.org/pkg",
		"example.com/m/runtime.(*T[...]).M.fn1": "example.com/m/runtime",
	} {
		if got := packagePath(fn); got != want {
			t.Errorf("packagePath(%q) = %q, want %q", fn, got, want)
		}
	}
}

func TestIsStdFrame(t *testing.T) {
	for _, fn := range []string{"encoding/hex.EncodeToString", "strings.(*Builder).grow", "bytes.(*Buffer).grow",
		"strconv.FormatInt", "time.AfterFunc", "net/http.(*conn).serve", "vendor/golang.org/x/net/http2/hpack.F",
		"internal/sync.F", "runtime.mallocgc", "fmt.Sprint"} {
		if !isStdFrame(fn) {
			t.Errorf("isStdFrame(%q) = false", fn)
		}
	}
	for _, fn := range []string{"main.main", "main.rememberSession", "github.com/a/b.F", "golang.org/x/sync/errgroup.F",
		"myapp/internal/store.Put", "example.com/strings.F", "0x1234", "(unknown stack)"} {
		if isStdFrame(fn) {
			t.Errorf("isStdFrame(%q) = true", fn)
		}
	}
	frames := []symbolize.Frame{{Function: "strings.(*Builder).grow"}, {Function: "fmt.Sprintf"}, {Function: "main.key"}, {Function: "main.main"}}
	if got := userSite(frames); got != 2 {
		t.Fatalf("userSite = %d, want 2 (main.key)", got)
	}
	if got := userSite(frames[:2]); got != 0 {
		t.Fatalf("std-only userSite = %d, want 0", got)
	}
}

func TestLeakSite(t *testing.T) {
	frames := []symbolize.Frame{
		{Function: "runtime.mallocgc"},
		{Function: "runtime.growslice"},
		{Function: "main.add", Inlined: true},
		{Function: "main.main"},
	}
	if got := leakSite(frames); got != 2 {
		t.Fatalf("leakSite = %d, want 2 (the inlined user frame)", got)
	}
	all := []symbolize.Frame{{Function: "runtime.malg"}, {Function: "runtime.newproc1"}}
	if got := leakSite(all); got != 0 {
		t.Fatalf("all-runtime leakSite = %d, want 0 (no trimming)", got)
	}
	// Goroutine creation: the runtime records the stack on the system
	// stack, so it ends in the runtime; the allocator's entry is trimmed.
	spawn := []symbolize.Frame{{Function: "runtime.mallocgcSmallScanNoHeader"}, {Function: "runtime.mallocgc"},
		{Function: "runtime.newobject"}, {Function: "runtime.malg"}, {Function: "runtime.newproc1"}, {Function: "runtime.systemstack"}}
	if got := leakSite(spawn); got != 3 {
		t.Fatalf("goroutine-creation leakSite = %d, want 3 (runtime.malg)", got)
	}
	alloc := []symbolize.Frame{{Function: "runtime.mallocgc"}, {Function: "runtime.newobject"}}
	if got := leakSite(alloc); got != 0 {
		t.Fatalf("allocator-only leakSite = %d, want 0 (nothing else to name)", got)
	}
	if got := formatFrame(symbolize.Frame{Function: "main.add", File: "/src/app/main.go", Line: 12}); got != "main.add (main.go:12)" {
		t.Fatalf("formatFrame = %q", got)
	}
}
