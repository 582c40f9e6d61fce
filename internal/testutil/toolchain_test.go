package testutil

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// A release the proxy does not serve is reported as ErrToolchain (so the
// matrix skips it loudly), not as a build failure.
func TestFetchUnservedToolchain(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	const v = "go1.19.999"
	err := FetchToolchain(v)
	if !errors.Is(err, ErrToolchain) || !strings.Contains(err.Error(), v) {
		t.Fatalf("FetchToolchain(%s) = %v, want ErrToolchain naming it", v, err)
	}
	err = GoBuild{Toolchain: v, GOARCH: "amd64"}.Build(t.TempDir(), "out", "testdata-does-not-matter.go")
	if !errors.Is(err, ErrToolchain) {
		t.Fatalf("build with an unserved toolchain: %v, want ErrToolchain", err)
	}
}
