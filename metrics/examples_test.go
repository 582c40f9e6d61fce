package metrics

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/leakscope/leakscope/internal/testutil"
)

// TestPrometheusExamples checks the scrape config and alerting rules the
// README points to with Prometheus's own checker.
func TestPrometheusExamples(t *testing.T) {
	promtool := testutil.RequireCommand(t, "promtool", "prometheus")
	dir := filepath.Join(testutil.ModuleRoot(t), "deploy", "prometheus")
	for _, args := range [][]string{
		{"check", "rules", filepath.Join(dir, "leakscope-rules.yml")},
		{"check", "config", "--syntax-only", filepath.Join(dir, "prometheus.yml")},
	} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
