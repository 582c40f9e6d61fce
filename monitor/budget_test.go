package monitor

import (
	"testing"
	"time"

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
