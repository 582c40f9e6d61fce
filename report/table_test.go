package report

import (
	"os"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/analysis"
)

func TestWriteTable(t *testing.T) {
	doc := sampleDoc()
	doc.Targets = append(doc.Targets, Target{PID: 7, Status: StatusExited, Error: "process exited"})
	var b strings.Builder
	if err := WriteTable(&b, doc); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"pid 4242  /srv/app  go1.24.1  watching  gc 1520  rate 512.0 KiB (set by leakscope)",
		"SITE", "LIVE", "GROWTH/S", "AGE(GC)", "SCORE", "VERDICT",
		"main.(*Cache).Put (cache.go:42)", "1.0 GiB", "12.0 KiB/s", "37.0", "0.93", "leak",
		"pid 7  -  -  exited", "error: process exited", "no suspects",
		"gc: frequent GC (304.0 per minute)", "GOGC=400 (environment at exec)",
		"frees of objects sampled before attach: 17 (expected, not a loss)",
		"main.remember (main.go:7)", "allocated in encoding/hex.EncodeToString",
		"not a leak yet: only 2 GC cycles observed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Fixed width: header and row columns line up.
	lines := strings.Split(out, "\n")
	if h, r := strings.Index(lines[3], "VERDICT"), strings.Index(lines[4], "leak"); h != r {
		t.Errorf("VERDICT at %d, leak at %d:\n%s", h, r, out)
	}
}

func TestGCEnv(t *testing.T) {
	gogc, limit := gcEnv([]byte("PATH=/bin\x00GOGC=off\x00GOMEMLIMIT=512MiB\x00X=GOGC=1\x00"))
	if gogc != "off" || limit != "512MiB" {
		t.Fatalf("gcEnv = %q, %q", gogc, limit)
	}
	if got := gcSettings(gogc, limit); got != "GOGC=off GOMEMLIMIT=512MiB (environment at exec)" {
		t.Fatalf("gcSettings = %q", got)
	}
	if gogc, limit := gcEnv([]byte("PATH=/bin\x00")); gogc != "" || limit != "" || !strings.Contains(gcSettings("", ""), "defaults") {
		t.Fatalf("unset: %q %q", gogc, limit)
	}
	// A real process: this test's own environment.
	t.Setenv("GOGC", "123") // not seen: /proc/self/environ is the environment at exec
	if g := NewGCRegime(analysis.GCRegime{}, uint32(os.Getpid())); strings.HasPrefix(g.Settings, "environment not readable") {
		t.Fatalf("own environment: %+v", g)
	}
	if g := NewGCRegime(analysis.GCRegime{}, 1<<30); !strings.HasPrefix(g.Settings, "environment not readable") {
		t.Fatalf("no such pid: %+v", g)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[float64]string{
		0: "0 B", 512: "512 B", 1536: "1.5 KiB", 1 << 20: "1.0 MiB",
		1048575: "1.0 MiB", 3 << 30: "3.0 GiB", -2048: "-2.0 KiB",
	} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%v) = %q, want %q", n, got, want)
		}
	}
	if got := truncateLeft("github.com/very/long/path/pkg.Function (file.go:12)", 20); got != "…nction (file.go:12)" {
		t.Errorf("truncateLeft = %q", got)
	}
}

// TestWriteTableGoroutineDescriptors: a runtime.malg suspect says whose
// goroutine descriptors it holds.
func TestWriteTableGoroutineDescriptors(t *testing.T) {
	doc := sampleDoc()
	doc.Targets[0].Suspects = append(doc.Targets[0].Suspects, analysis.Suspect{
		Function: "runtime.malg", Verdict: analysis.VerdictLeak,
		GoroutineCreatedBy: []string{"main.main (main.go:55)"},
	})
	var b strings.Builder
	if err := WriteTable(&b, doc); err != nil {
		t.Fatal(err)
	}
	if want := "runtime.malg"; !strings.Contains(b.String(), want) {
		t.Fatalf("table lacks %q:\n%s", want, b.String())
	}
	if want := "descriptors (g) of the goroutines created by main.main (main.go:55)"; !strings.Contains(b.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, b.String())
	}
}
