package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestRenderGoroutines: the goroutine goals are judged from the medians
// of the runs, and each table row carries its figures.
func TestRenderGoroutines(t *testing.T) {
	var in strings.Builder
	for range 5 {
		in.WriteString("BenchmarkGoroutineSnapshot/10K-2 \t 5 \t 1000 ns/op \t 0.002 s/snapshot \t 0.0019 cpu-s/snapshot \t 0.01 first-s \t 0.01 first-cpu-s \t 15 kept-MiB \t 25 rss-growth-MiB\n")
		in.WriteString("BenchmarkGoroutineSnapshot/100K-2 \t 5 \t 1000 ns/op \t 0.027 s/snapshot \t 0.028 cpu-s/snapshot \t 0.2 first-s \t 0.2 first-cpu-s \t 37 kept-MiB \t 106 rss-growth-MiB\n")
		in.WriteString("BenchmarkGoroutineSnapshot/1000K-2 \t 5 \t 1000 ns/op \t 1.5 s/snapshot \t 1.4 cpu-s/snapshot \t 3 first-s \t 3 first-cpu-s \t 232 kept-MiB \t 750 rss-growth-MiB\n")
		in.WriteString("BenchmarkGoroutineReadThroughput/baseline-2 \t 1 \t 0 ns/op \t 1500 MB/s \t 0.94 ratio-vs-base \t 0.97 cpu-ratio-vs-base\n")
		in.WriteString("BenchmarkGoroutineReadThroughput/baseline-2 \t 1 \t 0 ns/op \t 1500 MB/s \t 1.05 ratio-vs-base \t 1.01 cpu-ratio-vs-base\n")
		in.WriteString("BenchmarkGoroutineReadThroughput/goroutine-reads-2 \t 1 \t 0 ns/op \t 1400 MB/s \t 0.99 ratio-vs-base \t 0.98 cpu-ratio-vs-base \t 1.2 reads/s \t 30 read-ms \t 0.05 reader-cores\n")
	}
	res, err := parse(strings.NewReader(in.String()))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	renderGoroutines(func(f string, a ...any) { fmt.Fprintf(&out, f, a...) }, res)
	doc := out.String()
	for _, want := range []string{
		"| a snapshot of 100K goroutines takes under 0.100 s | 0.027 (0.027–0.027) s wall, 0.028 (0.028–0.028) s CPU; first snapshot 0.200 (0.200–0.200) s | **met** |",
		"| a snapshot of 1M goroutines takes under 1.00 s | 1.50 (1.50–1.50) s wall",
		"s | **not met** |\n| the target's throughput",
		"throughput ratio 0.990 (0.990–0.990) (A/A 0.995 (0.940–1.05))",
		"| **met**: the A/A ratios span 11.0%, too wide to show a smaller cost |\n",
		"| 1M | 1.50 (1.50–1.50) | 1.40 (1.40–1.40) | 3.00 (3.00–3.00) | 3.00 (3.00–3.00) | 232 (232–232) | 750 (750–750) |",
		"| goroutine-reads | 1400 (1400–1400) | – | 0.990 (0.990–0.990) | 0.980 (0.980–0.980) | – | – | 1.20 (1.20–1.20) | 30.0 (30.0–30.0) | 0.050 (0.050–0.050) |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("document lacks %q:\n%s", want, doc)
		}
	}
	for _, n := range goroutineNames() {
		if len(res.runs[n]) < minRuns {
			t.Errorf("%s: %d runs parsed, want %d", n, len(res.runs[n]), minRuns)
		}
	}
}
