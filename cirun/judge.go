package cirun

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/report"
)

// Site is where a leak suspect comes from, whatever kind of leak: for
// heap memory the function that allocated (and its file and line); for
// goroutines the function holding the `go` statement that created them
// (and its file and line). Judging looks at a Site and a verdict only, so
// every kind is judged the same way.
type Site struct {
	Kind     string // KindHeap or KindGoroutine
	Function string
	File     string
	Line     int
}

// The kinds of leak a Site can be of.
const (
	KindHeap      = "heap"
	KindGoroutine = "goroutine"
)

func (s Site) String() string {
	if s.File == "" {
		return s.Function
	}
	return fmt.Sprintf("%s (%s:%d)", s.Function, filepath.Base(s.File), s.Line)
}

// key identifies a site across runs and builds: its kind and function,
// not its line, which moves with unrelated edits.
func (s Site) key() string { return s.Kind + " " + s.Function }

// Decision is what a suspect means for the run.
type Decision string

const (
	Fail    Decision = "fail"    // at or above the fail-on verdict: the run fails
	Pass    Decision = "pass"    // reported only: below the fail-on verdict
	Ignored Decision = "ignored" // matches an ignore pattern
	Known   Decision = "known"   // in the baseline: a leak already known
	// Undecided: the evidence met the bars of a leak, but the process
	// lost data that can hide frees, so the detector held the verdict
	// back to watch: neither a leak nor a pass can be claimed.
	Undecided Decision = "undecided"
)

// Rules decide which suspects fail a run.
type Rules struct {
	// FailOn is the least verdict that fails: leak, or watch (which
	// also fails on leaks).
	FailOn analysis.Verdict
	// Ignore are patterns of functions or sites never failing a run.
	Ignore []Pattern
	// Baseline holds the sites of an earlier run's report: known leaks,
	// which do not fail this run.
	Baseline map[string]bool
}

// Judge decides what a suspect of verdict v at site s means for the run,
// and why.
func (r Rules) Judge(v analysis.Verdict, s Site) (Decision, string) {
	for _, p := range r.Ignore {
		if p.Match(s) {
			return Ignored, "ignored: matches " + strconv.Quote(p.String())
		}
	}
	if !atLeast(v, r.FailOn) {
		return Pass, fmt.Sprintf("%s: below the failing verdict (%s)", v, r.FailOn)
	}
	if r.Baseline[s.key()] {
		return Known, "known: in the baseline"
	}
	return Fail, fmt.Sprintf("%s at or above the failing verdict (%s)", v, r.FailOn)
}

func atLeast(v, min analysis.Verdict) bool {
	rank := map[analysis.Verdict]int{analysis.VerdictWatch: 1, analysis.VerdictLeak: 2}
	return rank[v] > 0 && rank[v] >= rank[min]
}

// ParseVerdict reads a failing verdict: leak or watch.
func ParseVerdict(s string) (analysis.Verdict, error) {
	switch v := analysis.Verdict(s); v {
	case analysis.VerdictLeak, analysis.VerdictWatch:
		return v, nil
	}
	return "", fmt.Errorf("%q: want leak or watch", s)
}

// Pattern matches a site: against its function, its file, or file:line
// (the file's full path or its base name). '*' stands for any run of
// characters, so "net/http.*" or "*.(*Cache).put" work; without '*' the
// pattern must match whole (goleak's IgnoreTopFunction).
type Pattern struct {
	text string
	re   *regexp.Regexp
}

// ParsePattern compiles an ignore pattern.
func ParsePattern(s string) (Pattern, error) {
	if strings.TrimSpace(s) == "" {
		return Pattern{}, fmt.Errorf("empty pattern")
	}
	parts := strings.Split(s, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re, err := regexp.Compile("^" + strings.Join(parts, ".*") + "$")
	if err != nil { // invalid UTF-8
		return Pattern{}, fmt.Errorf("%q: %w", s, err)
	}
	return Pattern{text: s, re: re}, nil
}

func (p Pattern) String() string { return p.text }

// Match reports whether p names s.
func (p Pattern) Match(s Site) bool {
	cands := []string{s.Function}
	if s.File != "" {
		base := filepath.Base(s.File)
		cands = append(cands, s.File, base, fmt.Sprintf("%s:%d", s.File, s.Line), fmt.Sprintf("%s:%d", base, s.Line))
	}
	for _, c := range cands {
		if c != "" && p.re.MatchString(c) {
			return true
		}
	}
	return false
}

// LoadBaseline reads the sites of an earlier run's suspects.json.
func LoadBaseline(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc report.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: not a suspects.json: %w", path, err)
	}
	if doc.Targets == nil {
		return nil, fmt.Errorf("%s: not a suspects.json: no targets list", path)
	}
	sites := map[string]bool{}
	for _, t := range doc.Targets {
		for _, s := range t.Suspects {
			sites[heapSite(s).key()] = true
		}
		for _, g := range goroutineSuspects(t) {
			sites[goroutineSite(g).key()] = true
		}
	}
	return sites, nil
}

func heapSite(s analysis.Suspect) Site {
	return Site{Kind: KindHeap, Function: s.Function, File: s.File, Line: s.Line}
}

func goroutineSite(g goroutines.Suspect) Site {
	return Site{Kind: KindGoroutine, Function: g.CreatedBy.Function, File: g.CreatedBy.File, Line: g.CreatedBy.Line}
}

// goroutineSuspects are a target's goroutine groups with a verdict (leak
// or watch): the others are every long-lived or finishing group of the
// program, not suspects a run reports.
func goroutineSuspects(t report.Target) []goroutines.Suspect {
	if t.Goroutines == nil {
		return nil
	}
	var out []goroutines.Suspect
	for _, g := range t.Goroutines.Suspects {
		if g.Verdict != "" {
			out = append(out, g)
		}
	}
	return out
}

// Finding is one suspect of one process, judged.
type Finding struct {
	PID      uint32
	Exe      string
	Site     Site
	Stack    []string
	Verdict  analysis.Verdict
	Score    float64
	Growth   float64 // bytes per second; goroutines per second for KindGoroutine
	Live     int64   // bytes; stack bytes held for KindGoroutine
	Count    int     // goroutines of the group, for KindGoroutine
	Profile  string  // the process's leak profile, if written
	Decision Decision
	Reason   string
	// HeldBack: the detector lowered a leak to watch because frees may
	// be missing (see Undecided).
	HeldBack bool
}

// Judge judges every suspect of every process in doc.
func Judge(doc *report.Document, r Rules) []Finding {
	if doc == nil {
		return nil
	}
	var out []Finding
	for _, t := range doc.Targets {
		for _, s := range t.Suspects {
			site := heapSite(s)
			d, why := r.Judge(s.Verdict, site)
			heldBack := s.Evidence.FreesMayBeMissing && s.Verdict != analysis.VerdictLeak
			if heldBack && d == Pass {
				// Judged as the leak it would have been.
				if d, why = r.Judge(analysis.VerdictLeak, site); d == Fail {
					d = Undecided
					why = fmt.Sprintf("met the bars of a leak, held back to watch: frees may be missing (%s)", strings.Join(t.Incomplete, ", "))
				}
			}
			out = append(out, Finding{
				PID: t.PID, Exe: t.Exe, Site: site, Stack: s.Stack, Verdict: s.Verdict, Score: s.Score,
				Growth: s.GrowthBytesPerSecond, Live: s.LiveBytes, Profile: t.Profile, Decision: d, Reason: why, HeldBack: heldBack,
			})
		}
		for _, g := range goroutineSuspects(t) {
			site := goroutineSite(g)
			v := analysis.Verdict(g.Verdict)
			d, why := r.Judge(v, site)
			var stack []string
			for _, b := range g.Blocked {
				stack = append(stack, b.String())
			}
			profile := ""
			if t.Goroutines != nil {
				profile = t.Goroutines.Profile
			}
			out = append(out, Finding{
				PID: t.PID, Exe: t.Exe, Site: site, Stack: stack, Verdict: v, Score: g.Score,
				Growth: g.GrowthPerSecond, Live: int64(g.StackBytes), Count: g.Count, Profile: profile, Decision: d, Reason: why,
			})
		}
	}
	return out
}

// verdictText, growthText and liveText say a finding's verdict, growth
// and size in its kind's terms (heap findings read as they always did).
func (f Finding) verdictText() string {
	if f.Site.Kind == KindGoroutine {
		return "goroutine " + string(f.Verdict)
	}
	return string(f.Verdict)
}

func (f Finding) growthText() string {
	if f.Site.Kind == KindGoroutine {
		return fmt.Sprintf("%.2f goroutines/s", f.Growth)
	}
	return report.HumanBytes(f.Growth) + "/s"
}

func (f Finding) liveText() string {
	if f.Site.Kind == KindGoroutine {
		return fmt.Sprintf("%d goroutines, %s of stack", f.Count, report.HumanBytes(float64(f.Live)))
	}
	return report.HumanBytes(float64(f.Live))
}
