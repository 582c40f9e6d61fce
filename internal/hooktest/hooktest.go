// Package hooktest resolves, for tests, the hooks of a running Go process
// and where its runtime.MemProfileRate lives. It is apart from testutil,
// which gobin's own tests import.
package hooktest

import (
	"fmt"
	"testing"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/symbolize"
	"github.com/leakscope/leakscope/tracer"
)

// Resolve resolves the hooks of a running Go process and where its
// runtime.MemProfileRate lives at run time.
func Resolve(t testing.TB, pid int) (*gobin.Hooks, tracer.ProfileRate) {
	t.Helper()
	// One reader for the hooks and the mappings, as monitor does.
	var cache gobin.Cache
	defer cache.Close()
	b, err := cache.Open(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := b.ResolveHooks()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := symbolize.OpenProcess(pid, &cache)
	if err != nil {
		t.Fatal(err)
	}
	return hooks, tracer.ProfileRate{PID: uint32(pid), Addr: hooks.MemProfileRateAddr + proc.Bias()}
}
