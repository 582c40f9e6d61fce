package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// ErrToolchain marks a Go toolchain that could not be fetched through the
// module proxy: callers skip loudly on it instead of failing.
var ErrToolchain = errors.New("toolchain unavailable")

// GoBuild is one way to build a standalone fixture program: which Go
// release (fetched with GOTOOLCHAIN=go1.N.P through the module proxy, and
// cached in the module cache) and which build kind.
type GoBuild struct {
	Toolchain string // "" for the machine's go, else e.g. "go1.21.13"
	GOARCH    string
	PIE       bool
	LDFlags   string
	CGO       string // CGO_ENABLED value, "" to inherit
	Tags      string // -tags value
	CC        string // C compiler for cgo (e.g. a cross compiler), "" for the default
	// Experiment is the GOEXPERIMENT value, "" to inherit.
	Experiment string
}

// Name is a file name for the build, unique per field values.
func (g GoBuild) Name() string {
	s := g.Toolchain
	if s == "" {
		s = "local"
	}
	s += "-" + g.GOARCH
	if g.PIE {
		s += "-pie"
	}
	if g.LDFlags != "" {
		s += "-ld" + strings.NewReplacer(" ", "", "=", "", "-", "_").Replace(g.LDFlags)
	}
	if g.CGO != "" {
		s += "-cgo" + g.CGO
	}
	if g.Tags != "" {
		s += "-tags" + strings.ReplaceAll(g.Tags, ",", "_")
	}
	if g.CC != "" {
		s += "-cc" + filepath.Base(g.CC)
	}
	if g.Experiment != "" {
		s += "-exp" + strings.ReplaceAll(g.Experiment, ",", "_")
	}
	return s
}

func (g GoBuild) String() string { return g.Name() }

// Build compiles the Go files srcFiles (a package main of its own, built
// as module "fixture" declaring go 1.19 so that every supported release
// accepts it) into out. workDir holds the copied sources and toolchain
// links; builds may share it and run concurrently. The error wraps
// ErrToolchain when the release could not be fetched.
func (g GoBuild) Build(workDir, out string, srcFiles ...string) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("%w: no go command: %w", ErrToolchain, err)
	}
	if g.Toolchain != "" {
		if err := FetchToolchain(g.Toolchain); err != nil {
			return err
		}
	}
	src := filepath.Join(workDir, "src-"+g.Name())
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	for _, f := range srcFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(src, filepath.Base(f)), data, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module fixture\n\ngo 1.19\n"), 0o644); err != nil {
		return err
	}
	env := append(os.Environ(), "GOOS=linux", "GOARCH="+g.GOARCH, "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if g.CGO != "" {
		env = append(env, "CGO_ENABLED="+g.CGO)
	}
	if g.CC != "" {
		env = append(env, "CC="+g.CC)
	}
	if g.Experiment != "" {
		env = append(env, "GOEXPERIMENT="+g.Experiment)
	}
	switch {
	case g.Toolchain == "":
		env = append(env, "GOTOOLCHAIN=local")
	case strings.HasPrefix(g.Toolchain, "go1.19."):
		// go1.19's go command cannot run from the module cache (its GOROOT
		// path contains '@': "import of unknown directory"); run it
		// through a symlink instead.
		goCmd, err = go119(goCmd, workDir, g.Toolchain)
		if err != nil {
			return err
		}
		env = append(env, "GOTOOLCHAIN=local", "GOROOT="+filepath.Dir(filepath.Dir(goCmd)))
	default:
		env = append(env, "GOTOOLCHAIN="+g.Toolchain)
	}
	args := []string{"build", "-o", out}
	if g.PIE {
		args = append(args, "-buildmode=pie")
	}
	if g.LDFlags != "" {
		args = append(args, "-ldflags="+g.LDFlags)
	}
	if g.Tags != "" {
		args = append(args, "-tags="+g.Tags)
	}
	if msg, err := runGo(goCmd, src, env, append(args, ".")...); err != nil {
		return fmt.Errorf("GOTOOLCHAIN=%s GOARCH=%s go %s: %s: %w", g.Toolchain, g.GOARCH, strings.Join(args, " "), msg, err)
	}
	return nil
}

// fetched remembers toolchains already fetched in this process, so that
// concurrent builds with one release download it once.
var fetched sync.Map // toolchain -> func() error

// FetchToolchain downloads (or finds in the module cache) a Go release by
// running `GOTOOLCHAIN=version go version`. The error wraps ErrToolchain.
func FetchToolchain(version string) error {
	once, _ := fetched.LoadOrStore(version, sync.OnceValue(func() error {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			return fmt.Errorf("%w: no go command: %w", ErrToolchain, err)
		}
		env := append(os.Environ(), "GOTOOLCHAIN="+version, "GOWORK=off")
		out, err := runGo(goCmd, os.TempDir(), env, "version")
		if err == nil {
			return nil
		}
		// go1.19's go command fails to run from the module cache after
		// downloading (see go119): what counts is that it is there.
		if _, statErr := toolchainRoot(goCmd, version); statErr == nil {
			return nil
		}
		return fmt.Errorf("%w: %s: %s: %v", ErrToolchain, version, out, err)
	}))
	return once.(func() error)()
}

// toolchainRoot is where the module cache holds a fetched release.
func toolchainRoot(goCmd, version string) (string, error) {
	modcache, err := runGo(goCmd, os.TempDir(), append(os.Environ(), "GOTOOLCHAIN=local"), "env", "GOMODCACHE")
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	root := filepath.Join(strings.TrimSpace(modcache), "golang.org",
		fmt.Sprintf("toolchain@v0.0.1-%s.%s-%s", version, runtime.GOOS, runtime.GOARCH))
	if _, err := os.Stat(filepath.Join(root, "bin", "go")); err != nil {
		return "", err
	}
	return root, nil
}

// go119 fetches a go1.19 toolchain and returns a go command that runs it
// from a symlinked GOROOT.
func go119(goCmd, workDir, version string) (string, error) {
	if err := FetchToolchain(version); err != nil {
		return "", err
	}
	root, err := toolchainRoot(goCmd, version)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrToolchain, err)
	}
	link := filepath.Join(workDir, "goroot-"+version)
	if err := os.Symlink(root, link); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
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
