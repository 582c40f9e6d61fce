package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
)

var (
	buildDir  string
	buildMu   sync.Mutex
	buildDone = map[string]string{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leakscope-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles pkg once per test binary run and returns its path.
func build(b *testing.B, name, pkg string) string {
	b.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildDone[pkg]; ok {
		return p
	}
	p := testutil.Build(b, buildDir, name, pkg)
	buildDone[pkg] = p
	return p
}

// fixture is a target program driven by one-line commands on its stdin,
// answering with one line on its stdout.
type fixture struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	pid   int
}

// startFixture runs bin and waits for its "ready PID" line. It is killed
// (by PID) when the benchmark invocation ends.
func startFixture(b *testing.B, bin string, args ...string) *fixture {
	b.Helper()
	cmd := exec.Command(bin, args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", bin, err)
	}
	f := &fixture{cmd: cmd, in: in, lines: make(chan string, 16), pid: cmd.Process.Pid}
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
		close(f.lines)
		_ = cmd.Wait()
		close(done)
	}()
	b.Cleanup(func() {
		in.Close()
		_ = cmd.Process.Kill()
		for range f.lines {
		}
		<-done
	})
	if got := f.expect(b, "ready", 10*time.Second); len(got) != 1 || got[0] != strconv.Itoa(f.pid) {
		b.Fatalf("%s: ready line names pid %v, want %d", filepath.Base(bin), got, f.pid)
	}
	return f
}

// expect waits for the next line, which must start with word, and returns
// the fields after it.
func (f *fixture) expect(b *testing.B, word string, timeout time.Duration) []string {
	b.Helper()
	select {
	case l, ok := <-f.lines:
		if !ok {
			b.Fatalf("fixture pid %d exited while we waited for %q", f.pid, word)
		}
		fs := strings.Fields(l)
		if len(fs) == 0 || fs[0] != word {
			b.Fatalf("fixture pid %d: got %q, want a %q line", f.pid, l, word)
		}
		return fs[1:]
	case <-time.After(timeout):
		b.Fatalf("fixture pid %d: no %q line within %v", f.pid, word, timeout)
	}
	return nil
}

// ask sends one command and returns the answer's numeric fields.
func (f *fixture) ask(b *testing.B, command, word string, timeout time.Duration) []int64 {
	b.Helper()
	if _, err := fmt.Fprintln(f.in, command); err != nil {
		b.Fatalf("fixture pid %d: writing %q: %v", f.pid, command, err)
	}
	fs := f.expect(b, word, timeout)
	out := make([]int64, len(fs))
	for i, s := range fs {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatalf("fixture pid %d: answer %q to %q: %v", f.pid, fs, command, err)
		}
		out[i] = v
	}
	return out
}
