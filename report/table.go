package report

import (
	"fmt"
	"io"
	"math"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/crosscheck"
)

// siteWidth is the width of the SITE column; longer sites lose their
// beginning (the package path), keeping the function, file and line.
const siteWidth = 56

// WriteTable writes doc as a fixed-width table, one block per target:
//
//	pid 4242  /srv/app  go1.24.1  watching  gc 1520  rate 512 KiB
//	  gc: frequent GC (...); GOGC and GOMEMLIMIT not in the environment (...)
//	  SITE                                   LIVE     GROWTH/S  AGE(GC)  SCORE  VERDICT
//	  main.(*Cache).Put (cache.go:42)     1.2 GiB  12.0 KiB/s     37.0   0.93  leak
//	    allocated in encoding/hex.EncodeToString
//	  main.load (load.go:7)               5.0 MiB   1.0 KiB/s      1.0   0.10  watch
//	    not a leak yet: only 2 GC cycles observed (...)
//
// Suspects come in their ranked order (analysis.CompareSuspects).
func WriteTable(w io.Writer, doc *Document) error {
	var b strings.Builder
	for i, t := range doc.Targets {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "pid %d  %s  %s  %s  gc %d  rate %s",
			t.PID, orDash(t.Exe), orDash(t.GoVersion), orDash(t.Status), t.GCCycles, HumanBytes(float64(t.MemProfileRate)))
		if t.MemProfileRateSetByLeakscope {
			b.WriteString(" (set by leakscope)")
		}
		b.WriteByte('\n')
		if t.Error != "" {
			fmt.Fprintf(&b, "  error: %s\n", t.Error)
		}
		if t.Cost != nil {
			fmt.Fprintf(&b, "  cost: %s\n", t.Cost.Summary())
		}
		writePprof(&b, t.Pprof)
		if len(t.Incomplete) > 0 {
			fmt.Fprintf(&b, "  incomplete: frees may be missing (%s): no leak verdicts; raise the --max-* capacities\n", strings.Join(t.Incomplete, ", "))
		}
		for _, n := range t.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
		if t.GC != nil && t.GC.Summary != "" {
			fmt.Fprintf(&b, "  gc: %s; %s\n", t.GC.Summary, t.GC.Settings)
		}
		if t.PreAttachFrees > 0 {
			fmt.Fprintf(&b, "  frees of objects sampled before attach: %d (expected, not a loss)\n", t.PreAttachFrees)
		}
		if t.Retention != nil {
			if line := t.Retention.Summary(); line != "" {
				fmt.Fprintf(&b, "  retention: %s\n", line)
			}
		}
		writeGoroutines(&b, t.Goroutines)
		writeExactAllocs(&b, t.ExactAllocs)
		if len(t.Suspects) == 0 {
			b.WriteString("  no suspects\n")
			continue
		}
		fmt.Fprintf(&b, "  %-*s %10s %12s %8s %6s  %s\n", siteWidth, "SITE", "LIVE", "GROWTH/S", "AGE(GC)", "SCORE", "VERDICT")
		for _, s := range t.Suspects {
			fmt.Fprintf(&b, "  %-*s %10s %12s %8.1f %6.2f  %s\n", siteWidth, truncateLeft(SiteText(s), siteWidth),
				HumanBytes(float64(s.LiveBytes)), HumanBytes(s.GrowthBytesPerSecond)+"/s",
				s.MedianAgeGCCycles, s.Score, string(s.Verdict)+pprofVerdict(s.Pprof))
			if len(s.AllocatedIn) > 0 {
				fmt.Fprintf(&b, "    allocated in %s\n", strings.Join(s.AllocatedIn, ", "))
			}
			if len(s.GoroutineCreatedBy) > 0 {
				fmt.Fprintf(&b, "    descriptors (g) of the goroutines created by %s\n", strings.Join(s.GoroutineCreatedBy, ", "))
			}
			if line := retainedLine(s.RetainedBy); line != "" {
				fmt.Fprintf(&b, "    %s\n", line)
			}
			if s.Verdict == analysis.VerdictWatch && s.Reason != "" {
				fmt.Fprintf(&b, "    not a leak yet: %s\n", s.Reason)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// SiteText is a suspect's site as "pkg.fn (file.go:12)".
func SiteText(s analysis.Suspect) string {
	if s.File == "" {
		return s.Function
	}
	return fmt.Sprintf("%s (%s:%d)", s.Function, path.Base(s.File), s.Line)
}

// writePprof writes the target's cross-check line, if any.
func writePprof(b *strings.Builder, c *crosscheck.TargetCheck) {
	if c == nil {
		return
	}
	fmt.Fprintf(b, "  pprof: %s", c.Status)
	if c.URL != "" {
		fmt.Fprintf(b, " %s", c.URL)
		if c.Discovered {
			b.WriteString(" (discovered)")
		}
	}
	if c.AgreementScore != nil {
		fmt.Fprintf(b, "  agreement %.2f (%d of %d)", *c.AgreementScore, c.Agreed, c.Agreed+c.Disagreed)
	}
	if c.Status != crosscheck.StatusOK && c.LastError != "" {
		first, _, _ := strings.Cut(c.LastError, "\n")
		fmt.Fprintf(b, ": %s", truncateRight(first, 120))
	}
	b.WriteByte('\n')
}

// pprofVerdict is the cross-check status after a suspect's verdict.
func pprofVerdict(c *analysis.PprofCheck) string {
	if c == nil || c.Status == analysis.PprofUnavailable {
		return ""
	}
	return " (pprof " + c.Status + ")"
}

// truncateRight shortens s to width runes, ending with "…".
func truncateRight(s string, width int) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	return string(r[:width-1]) + "…"
}

// HumanBytes formats n bytes with IEC units: "512 B", "1.5 KiB", "3.0 GiB".
func HumanBytes(n float64) string {
	const units = "KMGTPE"
	a := math.Abs(n)
	if a < 1024 {
		return fmt.Sprintf("%.0f B", n)
	}
	exp := min(int(math.Log(a)/math.Log(1024)), len(units))
	v := n / math.Pow(1024, float64(exp))
	if math.Abs(v) >= 1023.95 && exp < len(units) { // would print as 1024.0
		v /= 1024
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[exp-1])
}

// truncateLeft shortens s to width runes by replacing its start with "…".
func truncateLeft(s string, width int) string {
	n := utf8.RuneCountInString(s)
	if n <= width {
		return s
	}
	r := []rune(s)
	return "…" + string(r[n-width+1:])
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeExactAllocs lists the all-allocs mode's exact counts, if any.
func writeExactAllocs(b *strings.Builder, sites []analysis.AllocSite) {
	if len(sites) == 0 {
		return
	}
	fmt.Fprintf(b, "  %-*s %12s %10s   (exact, every allocation since attach)\n", siteWidth, "ALLOCATING SITE", "ALLOCS", "BYTES")
	for _, a := range sites {
		site := a.Function
		if len(a.Stack) > 0 {
			site = a.Stack[0]
		}
		fmt.Fprintf(b, "  %-*s %12d %10s\n", siteWidth, truncateLeft(site, siteWidth), a.Allocs, HumanBytes(float64(a.Bytes)))
	}
}

// retainedLine is the table's line on what holds a leak suspect's
// objects: "held by main.sessions (global) -> 48 B object (3 of 4
// samples)", or why it is not known.
func retainedLine(r *analysis.Retention) string {
	switch {
	case r == nil:
		return ""
	case len(r.Paths) > 0:
		p := r.Paths[0]
		line := fmt.Sprintf("held by %s (%d of %d samples", p.Summary, p.Samples, r.Searched)
		if len(r.Paths) > 1 {
			line += fmt.Sprintf("; %d other holders", len(r.Paths)-1)
		}
		return line + ")"
	case r.Status == analysis.RetentionCut:
		return "holder not found: the search was cut by its time budget"
	case r.Status == analysis.RetentionUnavailable:
		return "holder unknown: " + r.Reason
	case r.Reason != "":
		return "holder not found: " + r.Reason
	default:
		return fmt.Sprintf("holder not found from %d samples", r.Searched)
	}
}
