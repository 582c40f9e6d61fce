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
