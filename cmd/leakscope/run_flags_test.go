package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/analysis"
)

// TestRunFlags: `leakscope run`'s command line, good and bad; bad ones are
// refused with a message naming the flag, before anything starts.
func TestRunFlags(t *testing.T) {
	f, err := parseRunFlags([]string{"--load", "hey -z 1m http://127.0.0.1:8080/", "--ready", "tcp:8080", "--fail-on", "watch",
		"--ignore", "*.(*LRU).Put", "--grace=3s", "--", "./api", "--listen", ":8080"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.Command, " ") != "./api --listen :8080" || f.Ready.Addr != "127.0.0.1:8080" || f.Rules.FailOn != analysis.VerdictWatch ||
		len(f.Rules.Ignore) != 1 || f.Grace != 3*time.Second || f.Interval != 5*time.Second {
		t.Errorf("parsed %+v", f)
	}
	// COMMAND's own flags are its own, even without "--".
	if f, err := parseRunFlags([]string{"--duration=1m", "go", "test", "-run", "X", "./..."}); err != nil || strings.Join(f.Command, " ") != "go test -run X ./..." {
		t.Errorf("without --: %+v %v", f, err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"--"}, "no command"},
		{[]string{"--fail-on", "leaks", "--", "x"}, `--fail-on "leaks": want leak or watch`},
		{[]string{"--ready", "port:80", "--load", "x", "--", "x"}, `--ready "port:80": want log:REGEXP, tcp:[HOST:]PORT or delay:DURATION`},
		{[]string{"--ready", "log:(", "--load", "x", "--", "x"}, `--ready "log:(": error parsing regexp`},
		{[]string{"--ready", "tcp:80", "--", "x"}, "--ready says when to start --load: give --load too"},
		{[]string{"--ignore", "", "--", "x"}, `--ignore "": empty pattern`},
		{[]string{"--baseline", filepath.Join(dir, "none.json"), "--", "x"}, "--baseline: open "},
		{[]string{"--grace", "-1s", "--", "x"}, "--grace -1s: must not be negative"},
		{[]string{"--interval", "10ms", "--", "x"}, "--interval 10ms: must be at least 100ms"},
		{[]string{"--memprofilerate", "lots", "--", "x"}, `--memprofilerate "lots"`},
		{[]string{"--junit", filepath.Join(dir, "no/such/dir/junit.xml"), "--", "x"}, "--junit: open "},
		{[]string{"--log-level", "loud", "--", "x"}, "--log-level:"},
		{[]string{"--no-such-flag", "--", "x"}, "unknown flag: --no-such-flag"},
	} {
		_, err := parseRunFlags(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseRunFlags(%q) = %v, want an error with %q", c.args, err, c.want)
		}
	}
}
