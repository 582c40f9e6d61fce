package report

import (
	"fmt"
	"strings"
)

// Summary is the cost line of the table and the web view, e.g.
// "watching costs ~0.41% of a core (budget 1%, active: rate 16.0 MiB, configured 512.0 KiB) · names leaks from 3.0 MiB/s within 1 min, 518.0 KiB/s within 5 min".
func (c *Cost) Summary() string {
	if c == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("watching costs ")
	if c.EstimatedOverhead != nil {
		fmt.Fprintf(&b, "~%s of a core", percent(*c.EstimatedOverhead))
		if c.OwnCPU != nil {
			fmt.Fprintf(&b, " (leakscope itself ~%s)", percent(*c.OwnCPU))
		}
	} else {
		b.WriteString("(not yet estimated)")
	}
	switch {
	case c.MaxOverhead <= 0:
		b.WriteString(" (no budget)")
	case c.BudgetActive:
		fmt.Fprintf(&b, " (budget %s, active: rate %s, configured %s)", percent(c.MaxOverhead),
			HumanBytes(float64(c.EffectiveRate)), HumanBytes(float64(c.ConfiguredRate)))
	default:
		fmt.Fprintf(&b, " (budget %s)", percent(c.MaxOverhead))
	}
	b.WriteString(" · names leaks from ")
	limit := func(v *float64) string {
		if v == nil {
			return "none"
		}
		return HumanBytes(*v) + "/s"
	}
	fmt.Fprintf(&b, "%s within 1 min, %s within 5 min", limit(c.DetectionLimit1m), limit(c.DetectionLimit5m))
	if c.Note != "" {
		b.WriteString(" · " + c.Note)
	}
	if strings.HasPrefix(c.Source, unmeasuredPrefix) {
		b.WriteString(" · the cost per sample is not measured on this architecture: amd64's figures stand in")
	}
	return b.String()
}

// unmeasuredPrefix starts the cost source of an architecture whose cost
// per sample was not measured (budget.ForArch).
const unmeasuredPrefix = "not measured on "

func percent(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", 100*f), "0"), ".") + "%"
}
