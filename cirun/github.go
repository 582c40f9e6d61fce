package cirun

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/leakscope/leakscope/analysis"
)

// WriteAnnotations writes GitHub Actions workflow commands: an error on
// each failing site, a warning on each watch suspect that does not fail,
// a notice on each known (baseline) one, and an error for a run leakscope
// could not carry out. workspace ($GITHUB_WORKSPACE) turns the sites'
// absolute paths into the repository-relative ones GitHub shows in a
// pull request's diff.
func WriteAnnotations(w io.Writer, res *Result, findings []Finding, workspace string) error {
	var b strings.Builder
	for _, p := range Problems(res) {
		fmt.Fprintf(&b, "::error title=%s::%s\n", escapeProperty("leakscope run failed"), escapeData(p))
	}
	for _, f := range findings {
		level := ""
		switch {
		case f.Decision == Fail, f.Decision == Undecided:
			level = "error"
		case f.Decision == Known:
			level = "notice"
		case f.Decision == Pass && f.Verdict == analysis.VerdictWatch:
			level = "warning"
		}
		if level == "" {
			continue
		}
		props := []string{}
		if f.Site.File != "" {
			props = append(props, "file="+escapeProperty(relativeTo(f.Site.File, workspace)))
			if f.Site.Line > 0 {
				props = append(props, fmt.Sprintf("line=%d", f.Site.Line))
			}
		}
		props = append(props, "title="+escapeProperty(fmt.Sprintf("leakscope: %s %s", f.Site.Kind, f.Verdict)))
		msg := findingLine(f)
		switch f.Decision {
		case Known:
			msg += " (known: in the baseline)"
		case Undecided:
			msg += ": " + f.Reason
		}
		if f.Profile != "" {
			msg += "\nprofile: " + f.Profile
		}
		fmt.Fprintf(&b, "::%s %s::%s\n", level, strings.Join(props, ","), escapeData(msg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func relativeTo(file, workspace string) string {
	if workspace == "" {
		return file
	}
	if rel, err := filepath.Rel(workspace, file); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return file
}

// escapeData and escapeProperty escape a workflow command's message and
// property values as the Actions runner unescapes them.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// AppendSummary appends the run's Markdown summary to path (GitHub's
// $GITHUB_STEP_SUMMARY).
func AppendSummary(path string, res *Result, findings []Finding, out Outcome) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, Summary(res, findings, out))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Summary is the run as Markdown: the result, the failing and reported
// suspects, the processes watched and the ones that were not.
func Summary(res *Result, findings []Finding, out Outcome) string {
	var b strings.Builder
	failing := 0
	for _, f := range findings {
		if f.Decision == Fail {
			failing++
		}
	}
	var title string
	switch {
	case len(Problems(res)) > 0:
		title = "leakscope could not carry out the run"
	case failing > 0:
		title = "leak found"
	case out.Status == StatusFailed && len(out.Reasons) > 0 && strings.HasPrefix(out.Reasons[0], "undecided"):
		title = "a leak could not be confirmed: data was lost"
	case out.Status == StatusOK:
		title = "no leak found"
	case res.Exit.Failed() || res.Load.Failed():
		title = "no leak found; the command or the load failed"
	default:
		title = "failed"
	}
	fmt.Fprintf(&b, "## leakscope run: %s (exit status %d)\n\n", title, out.Status)
	fmt.Fprintf(&b, "Command `%s`: %s", mdCode(strings.Join(res.Command, " ")), res.Exit.String())
	if res.Load != nil {
		fmt.Fprintf(&b, "; load: %s", res.Load.String())
	}
	fmt.Fprintf(&b, "; watched for %s.\n\n", res.End.Sub(res.Start).Round(1e9))
	for _, r := range out.Reasons {
		fmt.Fprintf(&b, "- %s\n", mdCell(r))
	}
	if len(out.Reasons) > 0 {
		b.WriteString("\n")
	}
	if w := ShortWatch(res); w != "" {
		fmt.Fprintf(&b, "> Note: %s.\n\n", mdCell(w))
	}
	if len(findings) > 0 {
		b.WriteString("| Decision | Verdict | Site | Growth | Live | Score | Process | Profile |\n")
		b.WriteString("|---|---|---|---:|---:|---:|---|---|\n")
		for _, f := range findings {
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s | %.2f | %s (pid %d) | %s |\n",
				f.Decision, f.verdictText(), mdCode(f.Site.String()), f.growthText(), f.liveText(),
				f.Score, mdCell(f.Exe), f.PID, mdCell(f.Profile))
		}
		b.WriteString("\n")
	} else if res.Doc != nil && len(res.Doc.Targets) > 0 {
		b.WriteString("No suspects.\n\n")
	}
	if res.Doc != nil && len(res.Doc.Targets) > 0 {
		b.WriteString("| Process | Go | Status | GC cycles | MemProfileRate | Suspects |\n|---|---|---|---:|---:|---:|\n")
		for _, t := range res.Doc.Targets {
			fmt.Fprintf(&b, "| %s (pid %d) | %s | %s | %d | %d | %d |\n", mdCell(t.Exe), t.PID, mdCell(t.GoVersion), t.Status, t.GCCycles, t.MemProfileRate, len(t.Suspects))
		}
		b.WriteString("\n")
	}
	if n := NonGo(res.Doc); len(n) > 0 {
		fmt.Fprintf(&b, "Not Go programs, not watched (%d): %s.\n\n", len(n), mdCell(processList(n)))
	}
	if u := Unwatched(res.Doc); len(u) > 0 {
		fmt.Fprintf(&b, "Could not be watched (%d):\n", len(u))
		for _, s := range u {
			fmt.Fprintf(&b, "- %s (pid %d): %s\n", mdCell(s.Exe), s.PID, mdCell(s.Reason))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// mdCell keeps text from breaking a Markdown table row.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

// mdCode keeps text inside a code span: backticks cannot be escaped there.
func mdCode(s string) string { return strings.ReplaceAll(mdCell(s), "`", "'") }
