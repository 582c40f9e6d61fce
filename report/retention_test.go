package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/leakscope/leakscope/analysis"
)

// TestRetainedByTableAndLabel: the table gives a leak suspect one line
// naming its first holder; the pprof profile carries it as a label on the
// suspect's stacks only.
func TestRetainedByTableAndLabel(t *testing.T) {
	doc := sampleDoc()
	s := &doc.Targets[0].Suspects[0]
	s.RetainedBy = &analysis.Retention{Status: analysis.RetentionFound, Searched: 4,
		Paths: []analysis.RetentionPath{{Root: "main.sessions", Summary: "main.sessions (global) -> 48 B object", Samples: 3},
			{Root: "main.worker", Summary: "main.worker frame (goroutine 7, main.go:41)", Samples: 1}}}
	var b strings.Builder
	if err := WriteTable(&b, doc); err != nil {
		t.Fatal(err)
	}
	if want := "    held by main.sessions (global) -> 48 B object (3 of 4 samples; 1 other holders)\n"; !strings.Contains(b.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, b.String())
	}
	for _, c := range []struct {
		r    *analysis.Retention
		want string
	}{
		{&analysis.Retention{Status: analysis.RetentionCut, Searched: 4}, "holder not found: the search was cut by its time budget"},
		{&analysis.Retention{Status: analysis.RetentionUnavailable, Reason: "runtime.mheap_ not located"}, "holder unknown: runtime.mheap_ not located"},
		{nil, ""},
	} {
		if got := retainedLine(c.r); got != c.want {
			t.Errorf("retainedLine(%+v) = %q, want %q", c.r, got, c.want)
		}
	}

	stacks := testStacks(t)
	stacks[0].RetainedBy = "main.sessions (global) -> 48 B object"
	var buf bytes.Buffer
	if err := writeProfile(&buf, testInfo(), stacks); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	labelled := 0
	for _, smp := range p.Sample {
		if l := smp.Label["retained_by"]; len(l) > 0 {
			labelled++
			if l[0] != stacks[0].RetainedBy || smp.Location[0].Line[0].Function.Name != stacks[0].Frames[0].Function {
				t.Errorf("label %q on %s", l, smp.Location[0].Line[0].Function.Name)
			}
		}
	}
	if labelled != 1 {
		t.Errorf("%d samples labelled retained_by, want 1", labelled)
	}
}

// TestRetentionSearchesLine: the table's retention line says what the
// searches cost and dropped, or why there are none; nothing before the
// first search is needed.
func TestRetentionSearchesLine(t *testing.T) {
	for _, c := range []struct {
		r    RetentionSearches
		want string
	}{
		{RetentionSearches{Status: RetentionIdle}, ""},
		{RetentionSearches{Status: RetentionOff}, "  retention: off\n"},
		{RetentionSearches{Status: RetentionUnavailable, Reason: "no heap layout for go1.18"}, "  retention: unavailable: no heap layout for go1.18\n"},
		{RetentionSearches{Status: RetentionOn, Searches: 3, OnDemand: 1, Cut: 1, CPUSeconds: 0.5, LastSeconds: 0.25, LastScannedBytes: 100 << 20,
			Dropped: map[string]uint64{"span_read": 2, "internal": 5}},
			"  retention: 3 searches (1 on demand), 1 cut by the budget, 0.50 s CPU; last 0.25 s over 100.0 MiB; dropped internal 5, span_read 2\n"},
	} {
		doc := sampleDoc()
		r := c.r
		doc.Targets[0].Retention = &r
		var b strings.Builder
		if err := WriteTable(&b, doc); err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, l := range strings.SplitAfter(b.String(), "\n") {
			if strings.HasPrefix(l, "  retention: ") {
				got = l
			}
		}
		if got != c.want {
			t.Errorf("%s: line %q, want %q", c.r.Status, got, c.want)
		}
	}
}
