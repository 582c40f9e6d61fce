package report

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/goroutines"
)

// goroutineSuspects: a boot-time pool with more goroutines than the leak,
// none overdue, and a leak.
func goroutineSuspects() []goroutines.Suspect {
	return []goroutines.Suspect{
		{CreatedBy: goroutines.Site{Function: "main.startPool", File: "/src/main.go", Line: 10}, StartFunction: "main.worker",
			WaitReason: "chan receive", Count: 500, PreAttach: 500, StackBytes: 500 * 2048},
		{CreatedBy: goroutines.Site{Function: "main.leakChanSend", File: "/src/main.go", Line: 75}, StartFunction: "main.leakChanSend.gowrap1",
			WaitReason: "chan send", Blocked: []goroutines.Site{{Function: "main.sendResult", File: "/src/main.go", Line: 78}},
			Count: 300, Overdue: 250, StackBytes: 300 * 2048, Verdict: goroutines.VerdictLeak, GrowthPerSecond: 10},
	}
}

// The goroutine profile opens in the stock tool with the leaking creation
// site first, although a pool holds more goroutines.
func TestGoroutineProfileTop(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	info := TargetInfo{PID: 42, Exe: "app", Time: time.Now()}
	p, err := BuildGoroutineProfile(info, goroutineSuspects())
	if err != nil {
		t.Fatal(err)
	}
	path, err := SaveGoroutineProfile(t.TempDir(), info, p)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "tool", "pprof", "-top", path)
	cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+t.TempDir(), "PPROF_BINARY_PATH="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof: %v\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if strings.Contains(l, "flat%") && i+1 < len(lines) {
			fields := strings.Fields(lines[i+1])
			if len(fields) < 6 || fields[5] != "main.leakChanSend" || fields[0] != "250" {
				t.Fatalf("first row %q, want 250 overdue at main.leakChanSend:\n%s", lines[i+1], out)
			}
			return
		}
	}
	t.Fatalf("no table in pprof output:\n%s", out)
}

// TestGoroutinesJSONAndTable pins the goroutines section's contract names
// and its table lines.
func TestGoroutinesJSONAndTable(t *testing.T) {
	doc := sampleDoc()
	doc.Targets[0].Goroutines = &Goroutines{Status: GoroutinesWatching, Layout: "go1.26/amd64", Roots: "symbol table",
		Summary: goroutines.Summary{Live: map[string]int{"waiting": 800}}, Suspects: goroutineSuspects(),
		Pprof: &crosscheck.GoroutineCheck{URL: "http://127.0.0.1:6060/debug/pprof/goroutine", Status: crosscheck.StatusOK,
			RuntimeUser: 803, LeakscopeUser: 800, TotalStatus: goroutines.PprofAgrees, Agreed: 1, Disagreed: 1}}
	doc.Targets[0].Goroutines.Suspects[0].Pprof = &goroutines.PprofCheck{Status: goroutines.PprofAgrees, Function: "main.worker", RuntimeCount: 500, LeakscopeCount: 500}
	doc.Targets[0].Goroutines.Suspects[1].Pprof = &goroutines.PprofCheck{Status: goroutines.PprofDisagrees, Function: "main.sendResult",
		RuntimeCount: 400, LeakscopeCount: 300, Reason: "the runtime counts 100 more: leakscope misplaced some"}
	doc.Targets = append(doc.Targets, Target{PID: 9, Status: StatusWatching,
		Goroutines: &Goroutines{Status: GoroutinesError, Reason: "no runtime.g layout for this Go release: go1.30/amd64"}})
	dir := t.TempDir()
	if err := WriteJSON(dir, doc); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, SuspectsFile))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Targets []struct {
			Goroutines struct {
				Status   string           `json:"status"`
				Summary  map[string]any   `json:"summary"`
				Suspects []map[string]any `json:"suspects"`
				Pprof    map[string]any   `json:"pprof"`
			} `json:"goroutines"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	s := got.Targets[0].Goroutines.Suspects[1]
	for _, k := range []string{"created_by", "start_function", "wait_reason", "blocked", "count", "overdue", "pre_attach",
		"growth_per_second", "median_age_seconds", "stack_bytes", "score", "verdict", "evidence"} {
		if _, ok := s[k]; !ok {
			t.Errorf("goroutine suspect lacks %q: %v", k, s)
		}
	}
	pp, _ := s["pprof"].(map[string]any)
	for _, k := range []string{"status", "reason", "function", "runtime_count", "leakscope_count"} {
		if _, ok := pp[k]; !ok {
			t.Errorf("goroutine suspect's pprof lacks %q: %v", k, pp)
		}
	}
	for _, k := range []string{"url", "status", "runtime_total", "runtime_user", "leakscope_user", "leakscope_not_waiting",
		"total_status", "agreed", "disagreed", "unavailable", "last_error", "failures"} {
		if _, ok := got.Targets[0].Goroutines.Pprof[k]; !ok {
			t.Errorf("goroutines pprof lacks %q: %v", k, got.Targets[0].Goroutines.Pprof)
		}
	}
	var b strings.Builder
	if err := WriteTable(&b, doc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"goroutines: 800 live", "chan send in main.sendResult leak (pprof disagrees)", "goroutines: error: no runtime.g layout",
		"goroutines pprof: ok http://127.0.0.1:6060/debug/pprof/goroutine  agreement 1 of 2  totals agrees (runtime 803, leakscope 800 outside the runtime)",
		"pprof: 400 blocked in main.sendResult by the runtime's count, 300 by leakscope's: the runtime counts 100 more"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "main.startPool") {
		t.Errorf("table lists a group with no verdict:\n%s", b.String())
	}
}
