package symbolize

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/gobin"
)

// fixtureOutput is what testdata/selfpcs prints.
type fixtureOutput struct {
	GoVersion string `json:"go_version"`
	Stacks    []struct {
		PCs      []uint64 `json:"pcs"`
		Physical []int    `json:"physical"`
		Frames   []struct {
			Function string `json:"function"`
			File     string `json:"file"`
			Line     int    `json:"line"`
			Inlined  bool   `json:"inlined"`
		} `json:"frames"`
	} `json:"stacks"`
}

// buildVariant is one way to build the fixture.
type buildVariant struct {
	name  string
	flags []string
	cgo   bool // needs a C toolchain (external linking)
}

var buildVariants = []buildVariant{
	{name: "default"},
	{name: "stripped", flags: []string{"-ldflags=-s -w"}},
	{name: "pie", flags: []string{"-buildmode=pie"}},
	{name: "pie-stripped", flags: []string{"-buildmode=pie", "-ldflags=-s -w"}},
	{name: "external-pie-stripped", flags: []string{"-buildmode=pie", "-ldflags=-linkmode=external -s -w"}, cgo: true},
}

// moduleRoot is where `go build ./testdata/selfpcs` runs.
const moduleRoot = ".."

func goTool(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the fixture: %v", err)
	}
	return goBin
}

// buildFixture builds testdata/selfpcs with the current toolchain.
func buildFixture(t *testing.T, v buildVariant) string {
	t.Helper()
	goBin := goTool(t)
	out := filepath.Join(t.TempDir(), "selfpcs-"+v.name)
	args := append([]string{"build", "-o", out}, v.flags...)
	args = append(args, "./testdata/selfpcs")
	cmd := exec.Command(goBin, args...)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if v.cgo {
		if _, err := exec.LookPath("gcc"); err != nil {
			t.Skipf("no gcc for external linking: %v", err)
		}
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return out
}

// startFixture runs the fixture binary, reads its report and leaves it
// running (so its /proc entries stay) until the test ends.
func startFixture(t *testing.T, bin string) (pid int, out fixtureOutput) {
	t.Helper()
	cmd := exec.Command(bin)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill() // by PID: only the process started here
		_ = cmd.Wait()
	})
	line := make(chan []byte, 1)
	go func() {
		b, _ := bufio.NewReader(stdout).ReadBytes('\n')
		line <- b
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case b := <-line:
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("fixture output %q: %v", b, err)
		}
	case <-time.After(time.Minute):
		t.Fatal("fixture printed nothing within a minute")
	}
	return cmd.Process.Pid, out
}

// checkFixture symbolizes the fixture's stacks through /proc and compares
// with what runtime.CallersFrames reported inside it.
func checkFixture(t *testing.T, bin string, cache *gobin.Cache) {
	t.Helper()
	pid, out := startFixture(t, bin)
	p, err := OpenProcess(pid, cache)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Executable().GoVersion(); got != out.GoVersion {
		t.Errorf("GoVersion() = %q, fixture runs %q", got, out.GoVersion)
	}
	if len(out.Stacks) == 0 {
		t.Fatal("fixture recorded no stacks")
	}
	// The fixture's small functions must really be inlined (and the
	// go:noinline ones not), or the test proves nothing about inline trees.
	wantInlined := map[string]bool{
		"main.record": true, "main.inlinedA": true, "main.inlinedB": true,
		"main.leaf": false, "main.middle": false, "main.outer": false,
	}
	seen := map[string]bool{}
	for i, s := range out.Stacks {
		var want []string
		for _, f := range s.Frames {
			want = append(want, fmt.Sprintf("%s %s:%d inlined=%v", f.Function, f.File, f.Line, f.Inlined))
			if w, ok := wantInlined[f.Function]; ok {
				seen[f.Function] = true
				if f.Inlined != w {
					t.Errorf("runtime reports %s inlined=%v, the fixture wants %v", f.Function, f.Inlined, w)
				}
			}
		}
		// runtime.Callers output: every PC a return address, the first
		// included, so it goes in as pc-1 (Symbolize takes the first as
		// exact).
		pcs := append([]uint64{s.PCs[0] - 1}, s.PCs[1:]...)
		compareFrames(t, fmt.Sprintf("stack %d, runtime.Callers PCs", i), p.Symbolize(pcs), want)

		// Real return addresses only, as the kernel's frame-pointer walk
		// yields them: inlined frames must come from the inline tree.
		var phys []uint64
		for _, j := range s.Physical {
			phys = append(phys, s.PCs[j])
		}
		phys[0]--
		compareFrames(t, fmt.Sprintf("stack %d, physical PCs", i), p.Symbolize(phys), want)
	}
	for name := range wantInlined {
		if !seen[name] {
			t.Errorf("%s is in no recorded stack", name)
		}
	}
}

func compareFrames(t *testing.T, what string, got []Frame, want []string) {
	t.Helper()
	var g []string
	for _, f := range got {
		g = append(g, fmt.Sprintf("%s %s:%d inlined=%v", f.Function, f.File, f.Line, f.Inlined))
	}
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n\t%s\nwant (runtime.CallersFrames):\n\t%s", what, strings.Join(g, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func TestSymbolizeFixture(t *testing.T) {
	cache := &gobin.Cache{}
	for _, v := range buildVariants {
		t.Run(v.name, func(t *testing.T) {
			checkFixture(t, buildFixture(t, v), cache)
		})
	}
}

// oldToolchains are the older releases the fixture is also built with, to
// prove the pclntab and inline tree decoding across versions: go1.19 has the
// go1.18 pclntab (magic 0xfffffff0) and inline tree layout; go1.20 is the
// last whose runtime.CallersFrames did not expand inlining itself, go1.21
// the first that does, with the funcID numbering of go1.18-1.21; go1.22 and
// go1.25 renumbered funcIDs; go1.27 moved moduledata.gofunc. A name is fetched by the go command through
// GOTOOLCHAIN (from the module cache or the module proxy); a path is a go
// command to run, here the one of Debian's golang-1.19-go package.
// LEAKSCOPE_TOOLCHAINS (comma-separated) replaces the list.
var oldToolchains = []string{"/usr/lib/go-1.19/bin/go", "go1.20.14", "go1.21.13", "go1.22.12", "go1.25.14", "go1.27.4"}

func TestSymbolizeFixtureOldToolchains(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the fixture with other toolchains")
	}
	goBin := goTool(t)
	list := oldToolchains
	if env := os.Getenv("LEAKSCOPE_TOOLCHAINS"); env != "" {
		list = strings.Split(env, ",")
	}
	src, err := os.ReadFile(filepath.Join(moduleRoot, "testdata", "selfpcs", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	cache := &gobin.Cache{}
	for _, tc := range list {
		t.Run(strings.TrimPrefix(strings.ReplaceAll(tc, "/", "_"), "_"), func(t *testing.T) {
			// A module of its own, outside this one whose go.mod asks
			// for a newer Go.
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module selfpcs\n\ngo 1.18\n"), 0o644))
			must(t, os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644))
			env := append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
			tcGo := goBin
			if filepath.IsAbs(tc) {
				tcGo = tc
				env = append(env, "GOTOOLCHAIN=local", "GOROOT=")
			} else {
				env = append(env, "GOTOOLCHAIN="+tc)
			}
			ver := exec.Command(tcGo, "version")
			ver.Dir, ver.Env = dir, env
			if msg, err := ver.CombinedOutput(); err != nil {
				t.Skipf("!!! SKIPPED: toolchain %s cannot be had (not installed or cached, no module proxy?): %v\n%s", tc, err, msg)
			}
			for _, v := range []buildVariant{{name: "default"}, {name: "pie-stripped", flags: []string{"-buildmode=pie", "-ldflags=-s -w"}}} {
				t.Run(v.name, func(t *testing.T) {
					out := filepath.Join(t.TempDir(), "selfpcs")
					args := append([]string{"build", "-o", out}, v.flags...)
					cmd := exec.Command(tcGo, append(args, ".")...)
					cmd.Dir, cmd.Env = dir, env
					if msg, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("%s build: %v\n%s", tc, err, msg)
					}
					checkFixture(t, out, cache)
				})
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
