package monitor

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakscope/leakscope/budget"
	"github.com/leakscope/leakscope/snapshot"
)

// The BPF part of the cost per sample follows the kernel's statistics
// over each interval when they are on, and the table otherwise.
func TestCostModelLiveBPF(t *testing.T) {
	table := budget.Native()
	var m costModel
	m.update(nil)
	if m.cost != table {
		t.Fatalf("statistics off: %+v, want the table's %+v", m.cost, table)
	}
	stats := func(runs uint64, ns time.Duration) map[string]snapshot.ProgramStat {
		return map[string]snapshot.ProgramStat{
			"setprofilebucket":  {Runs: runs, RunTime: ns / 2},
			"freeSpecial":       {Runs: runs, RunTime: ns / 2},
			"gcMarkTermination": {Runs: 3, RunTime: 0},
			"mallocgc":          {Runs: 100 * runs, RunTime: 100 * ns}, // all-allocs: not per sample
		}
	}
	m.update(stats(1000, 3*time.Millisecond)) // since the programs loaded
	if m.cost.BPF != 3*time.Microsecond {
		t.Errorf("first interval: BPF %v per sample, want 3us", m.cost.BPF)
	}
	m.update(stats(3000, 7*time.Millisecond)) // 2000 samples, 4 ms more
	if m.cost.BPF != 2*time.Microsecond || m.cost.Runtime != table.Runtime || m.cost.Source == table.Source {
		t.Errorf("second interval: %+v, want 2us of BPF per sample, the table's runtime part, and a source saying so", m.cost)
	}
	m.update(stats(3050, 8*time.Millisecond)) // 50 samples: too few to replace the table
	if m.cost.BPF != table.BPF {
		t.Errorf("50 samples: BPF %v, want the table's %v", m.cost.BPF, table.BPF)
	}
}

// leakscope's own CPU is shared out over the targets, per interval.
func TestOwnCPUPerTarget(t *testing.T) {
	used := func() time.Duration {
		var ru unix.Rusage
		if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var o ownCPU
	t0 := time.Now()
	before := used()
	if got := o.perTarget(t0, 2); got != 0 {
		t.Fatalf("first call: %v, want 0 (no interval yet)", got)
	}
	// Burn 100 ms of CPU (not of wall time: the host may be busy), then
	// call as if 1 s had passed.
	for used() < before+100*time.Millisecond {
	}
	burnt := used() - before
	got := o.perTarget(t0.Add(time.Second), 2)
	after := used() - before
	if lo, hi := 0.9*burnt.Seconds()/2, after.Seconds()/2+0.005; got < lo || got > hi {
		t.Errorf("per target %.4f of a core, want in [%.4f, %.4f]: half of what the process used over the 1 s", got, lo, hi)
	}
	if got := o.perTarget(t0.Add(2*time.Second), 0); got != 0 {
		t.Errorf("no targets: %v, want 0", got)
	}
}
