package report

import (
	"strings"
	"testing"
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
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Fixed width: header and row columns line up.
	lines := strings.Split(out, "\n")
	if h, r := strings.Index(lines[1], "VERDICT"), strings.Index(lines[2], "leak"); h != r {
		t.Errorf("VERDICT at %d, leak at %d:\n%s", h, r, out)
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
