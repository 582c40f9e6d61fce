package gobin

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
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
type fixture struct {
	toolchain string // "" for the machine's go, else e.g. "go1.21.13"
	goarch    string
	pie       bool
	ldflags   string
	cgo       string // CGO_ENABLED value, "" to inherit
}

func (f fixture) String() string {
	s := f.toolchain
	if s == "" {
		s = "local"
	}
	s += "-" + f.goarch
	if f.pie {
		s += "-pie"
	}
	if f.ldflags != "" {
		s += "-ld" + strings.NewReplacer(" ", "", "=", "", "-", "_").Replace(f.ldflags)
	}
	if f.cgo != "" {
		s += "-cgo" + f.cgo
	}
	return s
}

var (
	buildMu    sync.Mutex
	builtPaths = map[fixture]string{}
	buildErrs  = map[fixture]error{}
)

// errToolchain marks a toolchain that could not be fetched: tests skip on
// it instead of failing.
var errToolchain = errors.New("toolchain unavailable")

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
	if errors.Is(err, errToolchain) {
		t.Skipf("SKIPPING %v: the Go toolchain could not be downloaded through the module proxy: %v", f, err)
	}
	t.Fatalf("build %v: %v", f, err)
}

func doBuild(f fixture) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%w: no go command: %w", errToolchain, err)
	}
	src := filepath.Join(fixtureDir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	mainGo, err := os.ReadFile(filepath.Join("testdata", "fixture", "main.go"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), mainGo, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module fixture\n\ngo 1.19\n"), 0o644); err != nil {
		return "", err
	}
	env := append(os.Environ(), "GOOS=linux", "GOARCH="+f.goarch, "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if f.cgo != "" {
		env = append(env, "CGO_ENABLED="+f.cgo)
	}
	switch {
	case f.toolchain == "":
		env = append(env, "GOTOOLCHAIN=local")
	case strings.HasPrefix(f.toolchain, "go1.19."):
		// go1.19's go command cannot run from the module cache (its GOROOT
		// path contains '@': "import of unknown directory"); run it
		// through a symlink instead.
		goCmd, err = go119(goCmd, f.toolchain)
		if err != nil {
			return "", err
		}
		env = append(env, "GOTOOLCHAIN=local", "GOROOT="+filepath.Dir(filepath.Dir(goCmd)))
	default:
		if out, err := runGo(goCmd, src, append(env, "GOTOOLCHAIN="+f.toolchain), "version"); err != nil {
			return "", fmt.Errorf("%w: %s: %v", errToolchain, out, err)
		}
		env = append(env, "GOTOOLCHAIN="+f.toolchain)
	}
	out := filepath.Join(fixtureDir, f.String())
	args := []string{"build", "-o", out}
	if f.pie {
		args = append(args, "-buildmode=pie")
	}
	if f.ldflags != "" {
		args = append(args, "-ldflags="+f.ldflags)
	}
	if msg, err := runGo(goCmd, src, env, append(args, ".")...); err != nil {
		return "", fmt.Errorf("%s: %w", msg, err)
	}
	return out, nil
}

// go119 downloads a go1.19 toolchain and returns a go command that runs it
// from a symlinked GOROOT.
func go119(goCmd, version string) (string, error) {
	env := append(os.Environ(), "GOTOOLCHAIN="+version, "GOWORK=off")
	if out, err := runGo(goCmd, fixtureDir, env, "version"); err != nil && !strings.Contains(out, version) {
		return "", fmt.Errorf("%w: %s: %v", errToolchain, out, err)
	}
	modcache, err := runGo(goCmd, fixtureDir, append(os.Environ(), "GOTOOLCHAIN=local"), "env", "GOMODCACHE")
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	root := filepath.Join(strings.TrimSpace(modcache), "golang.org",
		fmt.Sprintf("toolchain@v0.0.1-%s.%s-%s", version, runtime.GOOS, runtime.GOARCH))
	if _, err := os.Stat(filepath.Join(root, "bin", "go")); err != nil {
		return "", fmt.Errorf("%w: %v", errToolchain, err)
	}
	link := filepath.Join(fixtureDir, "goroot-"+version)
	if _, err := os.Lstat(link); err != nil {
		if err := os.Symlink(root, link); err != nil {
			return "", err
		}
	}
	return filepath.Join(link, "bin", "go"), nil
}

func runGo(goCmd, dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
