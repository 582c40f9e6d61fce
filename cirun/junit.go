package cirun

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/leakscope/leakscope/report"
)

// JUnit XML in the format Jenkins, GitLab, Surefire and most CI systems
// read (testdata/junit.xsd is its schema): one test case for the run,
// one per watched process, one per non-Go process (skipped), and one per
// suspect site, failing when the suspect fails the run.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped"`
	Error     *junitMessage `xml:"error"`
	Failure   *junitMessage `xml:"failure"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the run's JUnit XML report to path.
func WriteJUnit(path string, res *Result, findings []Finding, out Outcome) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = EncodeJUnit(f, res, findings, out)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// EncodeJUnit writes the run's JUnit XML report to w.
func EncodeJUnit(w io.Writer, res *Result, findings []Finding, out Outcome) error {
	secs := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	took := res.End.Sub(res.Start)
	host, _ := os.Hostname()
	s := junitSuite{
		Name:      "leakscope run",
		Time:      secs(took),
		Timestamp: res.Start.UTC().Format("2006-01-02T15:04:05"),
		Hostname:  host,
		Properties: []junitProperty{
			{"command", strings.Join(res.Command, " ")},
			{"command_exit", res.Exit.String()},
			{"exit_status", fmt.Sprint(out.Status)},
		},
	}
	if res.Load != nil {
		s.Properties = append(s.Properties, junitProperty{"load_exit", res.Load.String()})
	}
	// The run itself: an error when leakscope could not carry it out.
	run := junitCase{Name: "run", Classname: "leakscope", Time: secs(took)}
	if problems := Problems(res); len(problems) > 0 {
		run.Error = &junitMessage{Message: problems[0], Type: "leakscope", Text: strings.Join(problems, "\n")}
	} else {
		lines := out.Reasons
		if w := ShortWatch(res); w != "" {
			lines = append(lines, w)
		}
		run.SystemOut = strings.Join(lines, "\n")
	}
	s.Cases = append(s.Cases, run)
	if res.Doc != nil {
		for _, t := range res.Doc.Targets {
			c := junitCase{Name: fmt.Sprintf("pid %d %s", t.PID, t.Exe), Classname: "leakscope.process", Time: secs(took), SystemOut: targetText(t)}
			if t.Status == report.StatusError {
				c.Error = &junitMessage{Message: t.Error, Type: "watch"}
			}
			s.Cases = append(s.Cases, c)
		}
		for _, p := range res.Doc.Skipped {
			reason := "could not be watched: " + p.Reason
			if len(NonGo(&report.Document{Skipped: []report.Skipped{p}})) > 0 {
				reason = "not a Go program"
			}
			s.Cases = append(s.Cases, junitCase{Name: fmt.Sprintf("pid %d %s", p.PID, p.Exe), Classname: "leakscope.process", Time: "0.000",
				Skipped: &junitMessage{Message: reason}})
		}
	}
	for _, f := range findings {
		c := junitCase{Name: f.Site.String(), Classname: fmt.Sprintf("leakscope.%s.%s", f.Site.Kind, classPart(f.Exe)), Time: secs(took)}
		detail := findingText(f)
		switch f.Decision {
		case Fail:
			c.Failure = &junitMessage{Message: findingLine(f), Type: string(f.Verdict), Text: detail}
		case Undecided:
			c.Error = &junitMessage{Message: findingLine(f) + ": " + f.Reason, Type: "undecided", Text: detail}
		case Ignored, Known:
			c.Skipped = &junitMessage{Message: f.Reason}
			c.SystemOut = detail
		default:
			c.SystemOut = detail
		}
		s.Cases = append(s.Cases, c)
	}
	for _, c := range s.Cases {
		s.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
	}
	doc := junitSuites{Name: "leakscope", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped, Time: s.Time, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// classPart makes an executable name fit a dotted class name.
func classPart(exe string) string {
	if exe == "" {
		return "unknown"
	}
	return strings.ReplaceAll(exe, ".", "_")
}

func targetText(t report.Target) string {
	return fmt.Sprintf("status %s, %s, %d GC cycles, MemProfileRate %d, %d suspects",
		t.Status, orDash(t.GoVersion), t.GCCycles, t.MemProfileRate, len(t.Suspects))
}

// findingLine is a finding in one line.
func findingLine(f Finding) string {
	live := f.liveText()
	if f.Site.Kind != KindGoroutine {
		live += " live"
	}
	return fmt.Sprintf("%s at %s in pid %d (%s): growing %s, %s, score %.2f",
		f.verdictText(), f.Site, f.PID, f.Exe, f.growthText(), live, f.Score)
}

// findingText is a finding in full: the line, the stack and the profile.
func findingText(f Finding) string {
	var b strings.Builder
	b.WriteString(findingLine(f))
	fmt.Fprintf(&b, "\ndecision: %s (%s)\n", f.Decision, f.Reason)
	if f.Site.File != "" {
		fmt.Fprintf(&b, "site: %s:%d\n", f.Site.File, f.Site.Line)
	}
	if len(f.Stack) > 0 {
		b.WriteString("stack:\n")
		for _, fr := range f.Stack {
			b.WriteString("  " + fr + "\n")
		}
	}
	if f.Profile != "" {
		fmt.Fprintf(&b, "profile: %s (go tool pprof -top %s)\n", f.Profile, f.Profile)
	}
	return b.String()
}
