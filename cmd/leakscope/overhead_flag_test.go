package main

import (
	"strings"
	"testing"
)

func TestMaxOverheadFlag(t *testing.T) {
	for _, c := range []struct {
		arg  string
		want float64
	}{{"", 0.01}, {"1%", 0.01}, {"0.05%", 0.0005}, {"2.5", 0.025}, {"0", 0}} {
		args := []string{"--pid", "1"}
		if c.arg != "" {
			args = append(args, "--max-overhead", c.arg)
		}
		f, err := parseFlags(args)
		if err != nil || f.Budget != c.want {
			t.Errorf("--max-overhead %q: %v, %v; want %v", c.arg, f, err, c.want)
		}
	}
	for _, bad := range []string{"-1%", "101", "x", "1%%", "NaN"} {
		_, err := parseFlags([]string{"--pid", "1", "--max-overhead", bad})
		if err == nil || !strings.HasPrefix(err.Error(), "--max-overhead") {
			t.Errorf("--max-overhead %q: %v, want an error naming the flag", bad, err)
		}
	}
}
