package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/goroutines"
)

// Goroutine statuses of a target.
const (
	GoroutinesWatching = "watching"
	GoroutinesOff      = "off"   // turned off by the operator
	GoroutinesError    = "error" // not verified for this target; see Reason
)

// Goroutines is a target's goroutine section of suspects.json.
type Goroutines struct {
	Status string `json:"status"`
	// Reason says why the goroutine part is off or failed (a Go release
	// with no known g layout, a list that did not verify, a read error);
	// the heap part goes on regardless.
	Reason string `json:"reason,omitempty"`
	// Layout is the runtime.g layout in use ("go1.26/amd64"), Roots how
	// runtime.allgs was found (symbol table, or decoded).
	Layout string `json:"layout,omitempty"`
	Roots  string `json:"roots,omitempty"`
	// Summary counts the goroutines of the last read and what was lost.
	Summary goroutines.Summary `json:"summary"`
	// ReadSeconds is how long the last read took.
	ReadSeconds float64 `json:"read_seconds"`
	// Suspects are groups of goroutines, leak first.
	Suspects []goroutines.Suspect `json:"suspects"`
	// Profile is the latest goroutine profile written.
	Profile string `json:"profile,omitempty"`
	// Pprof is the cross-check with the target's own goroutine profile
	// (/debug/pprof/goroutine); nil when none was attempted.
	Pprof *crosscheck.GoroutineCheck `json:"pprof,omitempty"`
}

// Goroutine profile sample values, in this order; the default is
// overdue/count, so that `go tool pprof -top` ranks creation sites by the
// goroutines they have left behind.
func goroutineSampleTypes() []*profile.ValueType {
	return []*profile.ValueType{
		{Type: "goroutine", Unit: "count"},
		{Type: "stack", Unit: "bytes"},
		{Type: "overdue", Unit: "count"},
	}
}

// BuildGoroutineProfile returns a goroutine profile of t's suspects: one
// sample per group, whose one-frame stack is the group's creation site
// (the `go` statement), so that `go tool pprof -top` names the site that
// left the most overdue goroutines first; labels carry the wait reason,
// start function, the frame they are blocked in and the verdict.
func BuildGoroutineProfile(t TargetInfo, sus []goroutines.Suspect) (*profile.Profile, error) {
	m := &profile.Mapping{ID: 1, File: t.Exe, BuildID: t.BuildID, // already symbolized: pprof must not look for the binary
		HasFunctions: true, HasFilenames: true, HasLineNumbers: true}
	p := &profile.Profile{
		Mapping:           []*profile.Mapping{m},
		SampleType:        goroutineSampleTypes(),
		DefaultSampleType: "overdue",
		PeriodType:        &profile.ValueType{Type: "goroutine", Unit: "count"},
		Period:            1,
		Comments: []string{
			fmt.Sprintf("leakscope goroutine profile of pid %d (%s)", t.PID, t.Exe),
			"each sample is a group of goroutines: its stack is the go statement that created them",
			"overdue: goroutines older than their group's overdue age (the default sample type)",
		},
	}
	if !t.Time.IsZero() {
		p.TimeNanos = t.Time.UnixNano()
	}
	funcs := map[string]*profile.Function{}
	locs := map[string]*profile.Location{}
	for _, s := range sus {
		site := s.CreatedBy
		key := site.Function + "\x00" + site.File
		fn := funcs[key]
		if fn == nil {
			fn = &profile.Function{ID: uint64(len(p.Function) + 1), Name: site.Function, SystemName: site.Function, Filename: site.File}
			funcs[key] = fn
			p.Function = append(p.Function, fn)
		}
		lkey := key + "\x00" + strconv.Itoa(site.Line)
		loc := locs[lkey]
		if loc == nil {
			loc = &profile.Location{ID: uint64(len(p.Location) + 1), Mapping: m, Line: []profile.Line{{Function: fn, Line: int64(site.Line)}}}
			locs[lkey] = loc
			p.Location = append(p.Location, loc)
		}
		labels := map[string][]string{
			"wait_reason":    {s.WaitReason},
			"start_function": {s.StartFunction},
			"created_by":     {site.String()},
			"pid":            {strconv.FormatUint(uint64(t.PID), 10)},
		}
		if s.Verdict != "" {
			labels["verdict"] = []string{s.Verdict}
		}
		if len(s.Blocked) > 0 {
			labels["blocked_in"] = []string{s.Blocked[len(s.Blocked)-1].String()}
		}
		p.Sample = append(p.Sample, &profile.Sample{
			Location: []*profile.Location{loc},
			Value:    []int64{int64(s.Count), int64(s.StackBytes), int64(s.Overdue)},
			Label:    labels,
		})
	}
	if err := p.CheckValid(); err != nil {
		return nil, fmt.Errorf("report: invalid goroutine profile: %w", err)
	}
	return p, nil
}

// SaveGoroutineProfile writes p to dir/<pid>/goroutines.pb.gz, replacing
// the previous one atomically (its groups already carry their history),
// and returns the path.
func SaveGoroutineProfile(dir string, t TargetInfo, p *profile.Profile) (string, error) {
	path := filepath.Join(dir, strconv.FormatUint(uint64(t.PID), 10), "goroutines.pb.gz")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", errorf(path, err)
	}
	return path, errorf(path, writeFileAtomic(path, gzipProfile(p)))
}

// writeGoroutines writes a target's goroutine block of the table.
func writeGoroutines(b *strings.Builder, g *Goroutines) {
	if g == nil {
		return
	}
	if g.Status != GoroutinesWatching {
		fmt.Fprintf(b, "  goroutines: %s", g.Status)
		if g.Reason != "" {
			fmt.Fprintf(b, ": %s", truncateRight(g.Reason, 160))
		}
		b.WriteByte('\n')
		return
	}
	live := 0
	for _, n := range g.Summary.Live {
		live += n
	}
	fmt.Fprintf(b, "  goroutines: %d live", live)
	lost := 0
	for _, n := range g.Summary.Dropped {
		lost += n
	}
	if lost > 0 || g.Summary.Skipped > 0 {
		fmt.Fprintf(b, " (%d dropped, %d skipped)", lost, g.Summary.Skipped)
	}
	b.WriteByte('\n')
	writeGoroutinePprof(b, g.Pprof)
	n := 0
	for _, s := range g.Suspects {
		if s.Verdict == "" {
			continue
		}
		if n == 0 {
			fmt.Fprintf(b, "  %-*s %8s %9s %8s %10s  %-16s %s\n", siteWidth, "CREATED BY", "COUNT", "GROWTH/S", "AGE(S)", "STACKS", "WAIT", "VERDICT")
		}
		n++
		wait := s.WaitReason
		if len(s.Blocked) > 0 {
			wait += " in " + s.Blocked[len(s.Blocked)-1].Function
		}
		fmt.Fprintf(b, "  %-*s %8d %9.2f %8.0f %10s  %-16s %s\n", siteWidth, truncateLeft(s.CreatedBy.String(), siteWidth),
			s.Count, s.GrowthPerSecond, s.MedianAgeSeconds, HumanBytes(float64(s.StackBytes)), truncateRight(wait, 48), s.Verdict+goroutinePprofVerdict(s.Pprof))
		if p := s.Pprof; p != nil && p.Status == goroutines.PprofDisagrees {
			fmt.Fprintf(b, "    pprof: %d blocked in %s by the runtime's count, %d by leakscope's: %s\n", p.RuntimeCount, p.Function, p.LeakscopeCount, truncateRight(p.Reason, 160))
		}
	}
}

// writeGoroutinePprof writes the goroutine cross-check line, if any.
func writeGoroutinePprof(b *strings.Builder, c *crosscheck.GoroutineCheck) {
	// With no endpoint found, the heap cross-check's line says why.
	if c == nil || c.Status == crosscheck.StatusOff || (c.Status == crosscheck.StatusUnavailable && c.URL == "") {
		return
	}
	fmt.Fprintf(b, "  goroutines pprof: %s", c.Status)
	if c.URL != "" {
		fmt.Fprintf(b, " %s", c.URL)
	}
	if c.Agreed+c.Disagreed > 0 {
		fmt.Fprintf(b, "  agreement %d of %d", c.Agreed, c.Agreed+c.Disagreed)
	}
	if c.TotalStatus != goroutines.PprofUnavailable {
		fmt.Fprintf(b, "  totals %s (runtime %d, leakscope %d outside the runtime)", c.TotalStatus, c.RuntimeUser, c.LeakscopeUser)
	}
	if c.LeakProfile == "ok" {
		fmt.Fprintf(b, "  runtime's leak profile: %d leaked", c.RuntimeLeaked)
	}
	if c.Status != crosscheck.StatusOK && c.LastError != "" {
		first, _, _ := strings.Cut(c.LastError, "\n")
		fmt.Fprintf(b, ": %s", truncateRight(first, 120))
	}
	b.WriteByte('\n')
}

// goroutinePprofVerdict is the cross-check status after a verdict.
func goroutinePprofVerdict(c *goroutines.PprofCheck) string {
	if c == nil || c.Status == goroutines.PprofUnavailable {
		return ""
	}
	return " (pprof " + c.Status + ")"
}
