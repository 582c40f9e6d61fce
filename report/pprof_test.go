package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/crosscheck"
)

func pprofDoc() *Document {
	doc := sampleDoc()
	score := 1.0
	doc.Targets[0].Pprof = &crosscheck.TargetCheck{
		URL: "http://127.0.0.1:6060/debug/pprof/heap", Discovered: true, Status: crosscheck.StatusOK,
		AgreementScore: &score, Agreed: 1, FetchedAt: time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC),
		ProfileRate: 512 * 1024, ScalingAffectedByLeakscope: true, Note: "leakscope turned ...",
	}
	doc.Targets[0].Suspects[0].Pprof = &analysis.PprofCheck{
		Status: analysis.PprofAgrees, Reason: "both grew alike", InuseBytes: 3 << 20,
		RuntimeGrowthBytes: 2 << 20, LeakscopeGrowthBytes: 2<<20 + 1, WindowSeconds: 55,
	}
	doc.Targets = append(doc.Targets, Target{PID: 9, Status: StatusWatching, Pprof: &crosscheck.TargetCheck{
		Status: crosscheck.StatusUnavailable, LastError: "pprof discovery: the target listens on no TCP port\nmore",
	}})
	return doc
}

// TestPprofJSONNames pins the cross-check's names in suspects.json.
func TestPprofJSONNames(t *testing.T) {
	dir := t.TempDir()
	if err := WriteJSON(dir, pprofDoc()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, SuspectsFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Targets []struct {
			Pprof    map[string]any `json:"pprof"`
			Suspects []struct {
				Pprof map[string]any `json:"pprof"`
			} `json:"suspects"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	tp := doc.Targets[0].Pprof
	for _, k := range []string{"url", "discovered", "status", "agreement_score", "agreed", "disagreed", "unavailable",
		"fetched_at", "profile_rate", "last_error", "fetches", "failures", "scaling_affected_by_leakscope", "note"} {
		if _, ok := tp[k]; !ok {
			t.Errorf("target pprof lacks %q: %v", k, tp)
		}
	}
	sp := doc.Targets[0].Suspects[0].Pprof
	for k, want := range map[string]any{"status": "agrees", "reason": "both grew alike", "inuse_bytes": float64(3 << 20),
		"runtime_growth_bytes": float64(2 << 20), "leakscope_growth_bytes": float64(2<<20 + 1), "window_seconds": 55.0} {
		if sp[k] != want {
			t.Errorf("suspect pprof %q = %v, want %v", k, sp[k], want)
		}
	}
	// No comparison yet: the score is null, not 0 or 1.
	if v, ok := doc.Targets[1].Pprof["agreement_score"]; !ok || v != nil {
		t.Errorf("agreement_score with nothing compared: %v (present %v), want null", v, ok)
	}
}

func TestPprofTable(t *testing.T) {
	var b strings.Builder
	if err := WriteTable(&b, pprofDoc()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"pprof: ok http://127.0.0.1:6060/debug/pprof/heap (discovered)  agreement 1.00 (1 of 1)",
		"leak (pprof agrees)",
		"pprof: unavailable: pprof discovery: the target listens on no TCP port\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
