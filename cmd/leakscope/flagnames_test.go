package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/monitor"
)

// TestLibraryErrorsGetFlagNames: monitor names the bad value only; the
// command puts the flag that set it in front.
func TestLibraryErrorsGetFlagNames(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := writeFile(file); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Every config leaves Maps zero: were a check to pass by mistake,
	// tracer.New refuses zero capacities before anything is loaded or
	// attached, so the All selections below can never reach the host.
	for _, tc := range []struct {
		cfg        monitor.Config
		flag, want string
	}{
		{monitor.Config{Containers: []string{"not-hex"}}, "--container", `container "not-hex": not a container ID`},
		{monitor.Config{Cgroups: []string{"relative/path"}}, "--cgroup", `cgroup "relative/path": want an absolute path`},
		{monitor.Config{All: true, Within: "relative"}, "--within-cgroup", `cgroup "relative": want an absolute path`},
		{monitor.Config{All: true, OutDir: filepath.Join(file, "sub")}, "--out", "output directory " + filepath.Join(file, "sub")},
	} {
		err := monitor.Run(context.Background(), tc.cfg, log)
		if err == nil {
			t.Fatalf("%s: no error", tc.flag)
		}
		if strings.Contains(err.Error(), "--") {
			t.Errorf("library error names a flag: %v", err)
		}
		got := withFlagName(err).Error()
		if !strings.HasPrefix(got, tc.flag+": "+tc.want) {
			t.Errorf("got %q, want %q", got, tc.flag+": "+tc.want+"...")
		}
	}
}

func writeFile(path string) error {
	return os.WriteFile(path, []byte("x"), 0o644)
}
