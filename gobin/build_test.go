package gobin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/leakscope/leakscope/internal/testutil"
)

// fixtureDir holds fixture builds shared by all tests of one run.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gobin-fixtures-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixture describes one build of testdata/fixture.
type fixture = testutil.GoBuild

var (
	buildMu    sync.Mutex
	builtPaths = map[fixture]string{}
	buildErrs  = map[fixture]error{}
)

// buildFixture builds f once per test run and returns the binary's path.
func buildFixture(t *testing.T, f fixture) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builtPaths[f]; ok {
		return p
	}
	if err, ok := buildErrs[f]; ok {
		failBuild(t, f, err)
	}
	p, err := doBuild(f)
	if err != nil {
		buildErrs[f] = err
		failBuild(t, f, err)
	}
	builtPaths[f] = p
	return p
}

func failBuild(t *testing.T, f fixture, err error) {
	t.Helper()
	if errors.Is(err, testutil.ErrToolchain) {
		t.Skipf("SKIPPING %v: the Go toolchain could not be downloaded through the module proxy: %v", f, err)
	}
	t.Fatalf("build %v: %v", f, err)
}

func doBuild(f fixture) (string, error) {
	out := filepath.Join(fixtureDir, f.Name())
	return out, f.Build(fixtureDir, out, filepath.Join("testdata", "fixture", "main.go"))
}
