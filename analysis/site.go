package analysis

import (
	"fmt"
	"path"
	"strings"

	"github.com/leakscope/leakscope/symbolize"
)

// packagePath returns the import path of the package defining the Go
// function named fn, e.g. "runtime" for "runtime.(*mcache).refill" and
// "example.com/runtime" for "example.com/runtime.F". Checking the whole
// path, not a "runtime." prefix, is what keeps a user package such as
// "runtime.example.org/x" from being taken for the runtime.
func packagePath(fn string) string {
	// Type arguments of generic functions may contain '/' and '.'.
	if i := strings.IndexByte(fn, '['); i >= 0 {
		fn = fn[:i]
	}
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}

// isRuntimeFrame reports whether fn is part of the Go runtime's allocation
// machinery, and so can never be a leak site.
func isRuntimeFrame(fn string) bool {
	switch fn {
	// Runtime code exported to other std packages by go:linkname: the
	// symbol carries the other package's name, the body is in runtime/.
	case "reflect.unsafe_New", "reflect.unsafe_NewArray",
		"reflect.makemap", "reflect.makechan", "reflect.growslice",
		"reflect.mapassign", "reflect.mapassign0",
		"reflect.mapassign_faststr", "reflect.mapassign_faststr0",
		"internal/reflectlite.unsafe_New",
		"time.newTimer", "os.runtime_args", "syscall.runtime_envs":
		return true
	}
	pkg := packagePath(fn)
	return pkg == "runtime" ||
		strings.HasPrefix(pkg, "internal/runtime/") || // Go >= 1.23: maps, sys, atomic...
		strings.HasPrefix(pkg, "runtime/internal/") // older toolchains
}

// leakSite returns the index of the first frame outside the runtime. When
// every frame is runtime (a runtime-internal allocation, or a stack the
// runtime recorded on the system stack, which ends there: goroutine
// creation) only the allocator's entry points are trimmed, so the site is
// what asked for memory, e.g. runtime.malg for goroutine descriptors.
func leakSite(frames []symbolize.Frame) int {
	for i, f := range frames {
		if !isRuntimeFrame(f.Function) {
			return i
		}
	}
	for i, f := range frames {
		if !isAllocatorEntry(f.Function) {
			return i
		}
	}
	return 0
}

// stdRoots are the first path elements of the standard library's
// packages (go list std), "internal" and "vendor" included. A module
// path's first element has a dot (or is a local module's name), so a
// function of a package rooted here is the standard library's.
var stdRoots = map[string]bool{
	"archive": true, "bufio": true, "bytes": true, "cmp": true, "compress": true, "container": true,
	"context": true, "crypto": true, "database": true, "debug": true, "embed": true, "encoding": true,
	"errors": true, "expvar": true, "flag": true, "fmt": true, "go": true, "hash": true, "html": true,
	"image": true, "index": true, "internal": true, "io": true, "iter": true, "log": true, "maps": true,
	"math": true, "mime": true, "net": true, "os": true, "path": true, "plugin": true, "reflect": true,
	"regexp": true, "runtime": true, "slices": true, "sort": true, "strconv": true, "strings": true,
	"structs": true, "sync": true, "syscall": true, "testing": true, "text": true, "time": true,
	"unicode": true, "unique": true, "unsafe": true, "vendor": true, "weak": true,
}

// isStdFrame reports whether fn belongs to the Go standard library
// (the runtime included).
func isStdFrame(fn string) bool {
	if isRuntimeFrame(fn) {
		return true
	}
	pkg := packagePath(fn)
	if pkg == fn { // not a Go function name (an address, "(unknown stack)")
		return false
	}
	root, _, _ := strings.Cut(pkg, "/")
	return stdRoots[root]
}

// userSite returns the index, in frames trimmed by leakSite, of the
// first frame outside the runtime AND the standard library: the code
// that asked for what a library function allocated (hex.EncodeToString
// building a map key, a strings.Builder, time.AfterFunc...). 0 when
// every frame is the standard library's.
func userSite(frames []symbolize.Frame) int {
	for i, f := range frames {
		if !isStdFrame(f.Function) {
			return i
		}
	}
	return 0
}

// siteKey identifies a leak site: the user frame's function (not its
// line: everything one function keeps, its own objects and those a
// library built for it, is one leak to its author) and the source-level
// stack outward from it.
func siteKey(frames []symbolize.Frame) string {
	if len(frames) == 0 {
		return unknownFunction
	}
	return funcName(frames[0]) + "\x02" + groupKey(frames[1:])
}

// isAllocatorEntry reports whether fn is one of the runtime's ways into
// the heap allocator, which every allocation passes and none is caused by.
func isAllocatorEntry(fn string) bool {
	switch fn {
	case "runtime.newobject", "runtime.newarray", "runtime.makeslice", "runtime.makeslicecopy",
		"runtime.growslice", "runtime.profilealloc", "runtime.mProf_Malloc":
		return true
	}
	return strings.HasPrefix(fn, "runtime.mallocgc") // mallocgc and its 1.24+ variants
}

// unknownFunction names the site of a stack the kernel failed to walk.
const unknownFunction = "(unknown stack)"

// funcName is f's function, or its address when it could not be resolved.
func funcName(f symbolize.Frame) string {
	if f.Function != "" {
		return f.Function
	}
	return fmt.Sprintf("0x%x", f.PC)
}

// formatFrame renders f as "pkg.fn (file.go:12)".
func formatFrame(f symbolize.Frame) string {
	if f.File == "" {
		return funcName(f)
	}
	return fmt.Sprintf("%s (%s:%d)", funcName(f), path.Base(f.File), f.Line)
}

// groupKey identifies the source-level stack from the leak site outward.
// PCs are left out on purpose: stacks that differ only in which runtime
// path allocated (small vs large object, makeslice vs growslice) or in
// the call instruction within one line are the same leak to a user.
func groupKey(frames []symbolize.Frame) string {
	if len(frames) == 0 {
		return unknownFunction
	}
	var b strings.Builder
	for _, f := range frames {
		fmt.Fprintf(&b, "%s\x00%s\x00%d\x01", funcName(f), f.File, f.Line)
	}
	return b.String()
}
