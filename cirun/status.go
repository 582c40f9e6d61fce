package cirun

import (
	"fmt"
	"strings"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/report"
)

// Exit statuses of a run (see docs/CI.md). With propagation, the
// command's or the load's own failing status is passed on instead of 0.
const (
	StatusOK     = 0 // no suspect at or above the failing verdict
	StatusLeak   = 1 // at least one
	StatusFailed = 2 // leakscope could not carry out the run
)

// Outcome is a run's exit status and the reasons for it, in order.
type Outcome struct {
	Status  int
	Reasons []string
}

// Decide turns a run and its judged findings into an exit status.
// leakscope's own failure comes first (its findings are not to be
// trusted), then failing suspects, then undecided ones (status 2: data
// was lost), then (with propagate) the command's or the load's failure.
func Decide(res *Result, findings []Finding, propagate bool) Outcome {
	if failed := Problems(res); len(failed) > 0 {
		return Outcome{Status: StatusFailed, Reasons: failed}
	}
	var o Outcome
	for _, f := range findings {
		if f.Decision == Fail {
			o.Status = StatusLeak
			o.Reasons = append(o.Reasons, fmt.Sprintf("%s in pid %d (%s): %s", f.verdictText(), f.PID, f.Exe, f.Site))
		}
	}
	if o.Status != StatusOK {
		return o
	}
	// A leak the detector could not confirm is not a pass.
	for _, f := range findings {
		if f.Decision == Undecided {
			o.Status = StatusFailed
			o.Reasons = append(o.Reasons, fmt.Sprintf("undecided in pid %d (%s): %s %s", f.PID, f.Exe, f.Site, f.Reason))
		}
	}
	if o.Status != StatusOK {
		return o
	}
	switch {
	case res.Exit.Failed():
		o.Reasons = append(o.Reasons, "the command failed: "+res.Exit.String())
		if propagate {
			o.Status = res.Exit.Status()
		}
	case res.Load.Failed():
		o.Reasons = append(o.Reasons, "the load failed: "+res.Load.String())
		if propagate {
			o.Status = res.Load.Status()
		}
	}
	return o
}

// Problems lists why leakscope could not carry out the run: its own
// failures, an interruption, or no Go process ever watched.
func Problems(res *Result) []string {
	p := append([]string(nil), res.Problems...)
	if res.Interrupted {
		p = append(p, "interrupted by a signal before the run ended")
	}
	if res.Doc == nil || len(res.Doc.Targets) == 0 {
		msg := fmt.Sprintf("no Go process was watched: the command (%s) %s", strings.Join(res.Command, " "), res.Exit.String())
		if n := NonGo(res.Doc); len(n) > 0 {
			msg += "; non-Go processes seen: " + processList(n)
		}
		p = append(p, msg)
	}
	return p
}

// NonGo lists the processes in the command's cgroup that are not Go
// programs.
func NonGo(doc *report.Document) []report.Skipped {
	if doc == nil {
		return nil
	}
	var out []report.Skipped
	for _, s := range doc.Skipped {
		if strings.Contains(s.Reason, gobin.ErrNotGo.Error()) {
			out = append(out, s)
		}
	}
	return out
}

// Unwatched lists the Go processes that could not be watched.
func Unwatched(doc *report.Document) []report.Skipped {
	if doc == nil {
		return nil
	}
	var out []report.Skipped
	for _, s := range doc.Skipped {
		if !strings.Contains(s.Reason, gobin.ErrNotGo.Error()) {
			out = append(out, s)
		}
	}
	return out
}

func processList(ps []report.Skipped) string {
	var names []string
	for _, s := range ps {
		names = append(names, fmt.Sprintf("%s (pid %d)", orDash(s.Exe), s.PID))
	}
	return strings.Join(names, ", ")
}

// ShortWatch says, when the run was too short for a leak verdict to be
// possible, that a clean result means little; "" otherwise. A leak needs
// analysis.DefaultMinWindow and DefaultMinWindowGC cycles of evidence
// after its objects become overdue (DefaultMinOldAgeGC cycles at least):
// about 60 s and 10 GC cycles from the start, at best.
func ShortWatch(res *Result) string {
	if res.Doc == nil || len(res.Doc.Targets) == 0 {
		return ""
	}
	var gc uint64
	for _, t := range res.Doc.Targets {
		gc = max(gc, t.GCCycles)
	}
	took := res.End.Sub(res.Start)
	minRun := analysis.DefaultMinWindow + 10*time.Second
	minGC := uint64(analysis.DefaultMinOldAgeGC + analysis.DefaultMinWindowGC)
	if took >= minRun && gc >= minGC {
		return ""
	}
	return fmt.Sprintf("the run was too short to name a leak (%s, at most %d GC cycles in a process): a leak verdict needs about %s and %d GC cycles at the least; only watch verdicts were possible (see docs/CI.md)",
		took.Round(time.Second), gc, minRun, minGC)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
