package goroutines_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/symbolize"
)

// fixture is a started testdata/goroutines process and a Reader on it.
type fixture struct {
	proc   *testutil.Process
	sym    *symbolize.Process
	reader *goroutines.Reader
	exe    *gobin.Binary
}

// startFixture builds testdata/goroutines with b (the machine's go when
// b.Toolchain is empty), runs it with args and opens a Reader on it.
func startFixture(t testing.TB, b testutil.GoBuild, args ...string) *fixture {
	t.Helper()
	return startFixtureConfig(t, b, goroutines.Config{}, args...)
}

// startFixtureConfig is startFixture with a Reader configuration.
func startFixtureConfig(t testing.TB, b testutil.GoBuild, cfg goroutines.Config, args ...string) *fixture {
	t.Helper()
	return openFixture(t, startFixtureProcess(t, b, args...), cfg)
}

// startFixtureProcess builds and starts the fixture, ready.
func startFixtureProcess(t testing.TB, b testutil.GoBuild, args ...string) *testutil.Process {
	t.Helper()
	testutil.RequireBPF(t) // reading another process's memory needs root
	dir := t.TempDir()
	bin := filepath.Join(dir, "goroutines-"+b.Name())
	src, err := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "testdata", "goroutines", "*.go"))
	if err != nil || len(src) == 0 {
		t.Fatalf("fixture sources: %v", err)
	}
	if err := b.Build(dir, bin, src...); errors.Is(err, testutil.ErrToolchain) {
		t.Skipf("%s: %v", b.Name(), err)
	} else if err != nil {
		t.Fatal(err)
	}
	p := testutil.Start(t, bin, args...)
	p.WaitLine(t, "ready", 60*time.Second)
	return p
}

func openFixture(t testing.TB, p *testutil.Process, cfg goroutines.Config) *fixture {
	t.Helper()
	exePath := fmt.Sprintf("/proc/%d/exe", p.PID())
	exe, err := gobin.Open(exePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exe.Close() })
	sym, err := symbolize.OpenProcess(p.PID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := goroutines.NewReader(goroutines.FromGobin(exe), goroutines.ProcessMemory{PID: p.PID()}, sym.Bias(), cfg)
	if err != nil {
		t.Fatalf("NewReader on %s (%s): %v", exePath, exe.GoVersion(), err)
	}
	return &fixture{proc: p, sym: sym, reader: r, exe: exe}
}
