package eval

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// goroutineSection is the part of a target's suspects.json goroutines
// section read here.
type goroutineSection struct {
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	Suspects []struct {
		CreatedBy struct {
			Function string `json:"function"`
		} `json:"created_by"`
		Count       int    `json:"count"`
		WaitReason  string `json:"wait_reason"`
		Verdict     string `json:"verdict"`
		FirstLeakAt string `json:"first_leak_at"`
	} `json:"suspects"`
}

// goroutineResult is the goroutine part of a case's result: every case is
// judged on it, a control (of either kind) by having no goroutine leak
// verdict at all.
type goroutineResult struct {
	pass     bool
	why      string
	leaks    []string // creation sites judged leak
	detect   time.Duration
	detectOK bool
	top      string // e.g. "main.handle: 812 in chan send"
}

func (c corpusCase) goroutineLeak() bool { return len(c.expect.GoroutineLeakSites) > 0 }

// judgeGoroutines: every expected creation site judged leak, and no other.
func judgeGoroutines(r *result, g *goroutineSection, attached time.Time) {
	gr := &r.gor
	if g == nil || g.Status != "watching" {
		gr.why = "goroutines not read"
		if g != nil {
			gr.why += ": " + g.Status + " " + g.Reason
		}
		return
	}
	first := map[string]time.Time{}
	for _, s := range g.Suspects {
		if s.Verdict != "leak" {
			continue
		}
		fn := s.CreatedBy.Function
		if !slices.Contains(gr.leaks, fn) {
			gr.leaks = append(gr.leaks, fn)
		}
		if ts, err := time.Parse(time.RFC3339Nano, s.FirstLeakAt); err == nil {
			if old, ok := first[fn]; !ok || ts.Before(old) {
				first[fn] = ts
			}
		}
		if gr.top == "" {
			gr.top = fmt.Sprintf("%s: %d in %s", fn, s.Count, s.WaitReason)
		}
	}
	want := r.c.expect.GoroutineLeakSites
	var missing, extra []string
	gr.detectOK = len(want) > 0
	for _, site := range want {
		ts, ok := first[site]
		if !slices.Contains(gr.leaks, site) || !ok {
			missing = append(missing, site)
			gr.detectOK = false
			continue
		}
		gr.detect = max(gr.detect, ts.Sub(attached))
	}
	for _, fn := range gr.leaks {
		if !slices.Contains(want, fn) {
			extra = append(extra, fn)
		}
	}
	gr.pass = len(missing) == 0 && len(extra) == 0
	if len(missing) > 0 {
		gr.why += fmt.Sprintf(" goroutine leak sites %v not judged leak;", missing)
	}
	if len(extra) > 0 {
		gr.why += fmt.Sprintf(" false goroutine leak verdicts on %v;", extra)
	}
}

// renderGoroutines adds the goroutine-leak table and figures.
func renderGoroutines(b *strings.Builder, results []result) {
	b.WriteString("\n### Goroutine leaks\n\n")
	b.WriteString("| case | expected creation sites | goroutine leak verdicts | result | first verdict after attach |\n| --- | --- | --- | --- | --- |\n")
	var cases, found, controls, falseVerdicts int
	for _, r := range results {
		exp, res, ttd := "none (control)", "pass", "-"
		if r.c.goroutineLeak() {
			exp = strings.Join(r.c.expect.GoroutineLeakSites, ", ")
			cases++
			if r.gor.detectOK && r.gor.pass {
				found++
			}
			if r.gor.detectOK {
				ttd = fmt.Sprintf("%.0f s", r.gor.detect.Seconds())
			} else {
				ttd = "not within " + r.c.expect.MaxWatch
			}
		} else {
			controls++
			falseVerdicts += len(r.gor.leaks)
		}
		if !r.gor.pass {
			res = "FAIL:" + r.gor.why
		}
		leaks := "none"
		if len(r.gor.leaks) > 0 {
			leaks = strings.Join(r.gor.leaks, ", ")
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", r.c.name, exp, leaks, res, ttd)
	}
	fmt.Fprintf(b, "\nGoroutine-leak recall: %d/%d cases. False goroutine leak verdicts on the %d other cases: %d.\n", found, cases, controls, falseVerdicts)
}
