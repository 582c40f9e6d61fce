package matrix_test

import (
	"strings"
	"testing"
)

// Without the cross compiler an arm64 cgo cell is skipped with the
// package to install, or failed when LEAKSCOPE_REQUIRE_BPF=1: never built
// nor passed.
func TestCrossCCMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, require := range []string{"", "1"} {
		t.Setenv("LEAKSCOPE_REQUIRE_BPF", require)
		c := &cell{version: "go1.27.4", arch: "arm64", kind: "cgo"}
		if _, ok := crossCC(c); ok {
			t.Fatalf("REQUIRE_BPF=%q: found a cross compiler on an empty PATH", require)
		}
		got := c.skipped
		if require == "1" {
			got = strings.Join(c.fail, "; ")
			if c.skipped != "" {
				t.Errorf("REQUIRE_BPF=1: skipped (%s), want failed", c.skipped)
			}
		} else if len(c.fail) > 0 || mark(c) != "skipped: no C cross compiler" {
			t.Errorf("REQUIRE_BPF unset: mark %q, failures %v; want skipped", mark(c), c.fail)
		}
		if !strings.Contains(got, "gcc-aarch64-linux-gnu") {
			t.Errorf("REQUIRE_BPF=%q: %q does not name the package to install", require, got)
		}
	}
}
