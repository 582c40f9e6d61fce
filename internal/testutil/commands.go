package testutil

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// RequireCommand returns the path of an outside program a test drives
// (Prometheus, Chromium...). Missing, it skips the test, or fails it when
// LEAKSCOPE_REQUIRE_BPF=1: CI installs every such program (.ci/run), so
// there a skip would hide an untested feature.
func RequireCommand(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := name + " not found: apt-get install " + debianPackage
	if os.Getenv("LEAKSCOPE_REQUIRE_BPF") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// LoopbackAddr is 127.0.0.1:port.
func LoopbackAddr(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// ArtifactDir is where tests leave files for people to look at
// (screenshots): $LEAKSCOPE_ARTIFACTS, else artifacts/ in the module.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("LEAKSCOPE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(ModuleRoot(t), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
