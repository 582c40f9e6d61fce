package main

import (
	"strings"
	"testing"
)

// FuzzParseFlags: any command line parses or is refused with an error;
// what is accepted is within the documented ranges.
func FuzzParseFlags(f *testing.F) {
	for _, s := range []string{
		"--pid 1",
		"--pid 1 --pid 2 --interval 5s --duration 1m --out /tmp/x",
		"--pid=-1",
		"--pid 1 --memprofilerate 0x10",
		"--pid 1 --memprofilerate keep --max-live-objects 0",
		"--pid 1 --interval 99ms --keep-profiles -3 --log-level loud",
		"--pid 1,2,3 --max-stacks 4294967296",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fl, err := parseFlags(strings.Fields(line))
		if err != nil {
			return
		}
		if len(fl.PIDs) == 0 || fl.KeepProfiles < 1 || fl.MaxSuspects < 1 || fl.Duration < 0 {
			t.Fatalf("accepted %q as %+v", line, fl)
		}
		for _, p := range fl.PIDs {
			if p <= 0 || p > maxPID {
				t.Fatalf("accepted pid %d from %q", p, line)
			}
		}
		if m := fl.Maps; m.LiveObjects == 0 || m.StackSlots == 0 || m.StackStats == 0 || m.Targets == 0 {
			t.Fatalf("accepted a zero capacity from %q", line)
		}
		if _, err := parseRate(fl.MemProfileRate); err != nil {
			t.Fatalf("accepted --memprofilerate %q", fl.MemProfileRate)
		}
	})
}
