package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/budget"
)

func TestCostSummary(t *testing.T) {
	over, l1, l5 := 0.0041, 2.7e6, 4.6e5
	c := &Cost{EffectiveRate: 16 << 20, ConfiguredRate: 512 << 10, EstimatedOverhead: &over, MaxOverhead: 0.01,
		BudgetActive: true, DetectionLimit1m: &l1, DetectionLimit5m: &l5}
	want := "watching costs ~0.41% of a core (budget 1%, active: rate 16.0 MiB, configured 512.0 KiB) · names leaks from 2.6 MiB/s within 1 min, 449.2 KiB/s within 5 min"
	if got := c.Summary(); got != want {
		t.Errorf("summary\n got %s\nwant %s", got, want)
	}
	own := 0.0012
	c.OwnCPU = &own
	if got := c.Summary(); !strings.HasPrefix(got, "watching costs ~0.41% of a core (leakscope itself ~0.12%) (budget 1%") {
		t.Errorf("with leakscope's own CPU: %s", got)
	}
	c = &Cost{EffectiveRate: 512 << 10, ConfiguredRate: 512 << 10}
	if got := c.Summary(); !strings.Contains(got, "(not yet estimated) (no budget)") || !strings.Contains(got, "none within 1 min") {
		t.Errorf("no estimate, no budget, no limit: %s", got)
	}
	c.Source = budget.ForArch("arm64").Source
	if got := c.Summary(); !strings.HasSuffix(got, " · the cost per sample is not measured on this architecture: amd64's figures stand in") {
		t.Errorf("cost per sample not measured here: %s", got)
	}
	var b bytes.Buffer
	doc := &Document{Targets: []Target{{PID: 1, Status: StatusWatching, Cost: &Cost{EstimatedOverhead: &over, MaxOverhead: 0.01}}}}
	if err := WriteTable(&b, doc); err != nil || !strings.Contains(b.String(), "\n  cost: watching costs ~0.41% of a core (budget 1%)") {
		t.Errorf("table: %v\n%s", err, b.String())
	}
}
