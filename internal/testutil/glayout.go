package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// BuildEmptyProgram builds `func main() {}` with b (in workDir) and returns
// the binary: a reference build whose DWARF describes the runtime of b's
// release (goroutines.LayoutFromDWARF). The error wraps ErrToolchain when
// the release could not be fetched.
func BuildEmptyProgram(workDir string, b GoBuild) (string, error) {
	src := filepath.Join(workDir, "empty.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(workDir, "empty-"+b.Name())
	if err := b.Build(workDir, bin, src); err != nil {
		return "", err
	}
	return bin, nil
}

// Releases are the reference toolchains: the newest patch release of each
// minor version from 1.19 to 1.27 that the module proxy serves (its
// golang.org/toolchain list, read 2026-11-25). The matrix builds with
// them, and the layout tables of goroutines and retention are generated
// from them.
var Releases = []string{
	"go1.19.13", "go1.20.14", "go1.21.13", "go1.22.12", "go1.23.12",
	"go1.24.13", "go1.25.14", "go1.26.11", "go1.27.4",
}

// MinorRelease is "go1.26" for "go1.26.11", and the machine's go's for "".
func MinorRelease(toolchain string) string {
	if toolchain == "" {
		toolchain = runtime.Version()
	}
	var major, minor int
	if _, err := fmt.Sscanf(toolchain, "go%d.%d", &major, &minor); err != nil {
		return toolchain
	}
	return fmt.Sprintf("go%d.%d", major, minor)
}
