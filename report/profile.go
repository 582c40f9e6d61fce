package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/symbolize"
)

// TargetInfo describes the process a profile is about.
type TargetInfo struct {
	PID            uint32
	Exe            string
	BuildID        string
	GoVersion      string
	MemProfileRate int64
	Time           time.Time // when the values were read
	Container      string    // the container and its names, for a comment ("" outside containers)
	// The main binary's mapping in the target's address space; when
	// MapLimit is 0 it is taken as the span of the PCs in the profile.
	MapStart, MapLimit, MapOffset uint64
}

// Sample values, in this order. gc_cycles_survived is the sum over the
// live objects of a stack of the GC cycles each has survived (scaled like
// inuse_objects, ages saturating at 63), so dividing it by inuse_objects
// gives their mean age in GC cycles: `go tool pprof -sample_index=
// gc_cycles_survived` ranks stacks by how much old memory they hold.
func sampleTypes() []*profile.ValueType {
	return []*profile.ValueType{
		{Type: "inuse_objects", Unit: "count"},
		{Type: "inuse_space", Unit: "bytes"},
		{Type: "alloc_objects", Unit: "count"},
		{Type: "alloc_space", Unit: "bytes"},
		{Type: "gc_cycles_survived", Unit: "count"},
	}
}

// BuildProfile returns a heap profile of stacks in the format of the Go
// runtime's own (inuse/alloc objects and space, period MemProfileRate),
// plus gc_cycles_survived. Each sample's stack starts at its leak site:
// like runtime/pprof, the runtime's allocation frames above it are not
// shown, so `go tool pprof -top` puts the leaking function first. Each
// sample is labelled with the target's pid and exe (and its verdict, if
// any), so profiles of several targets can be merged and told apart.
func BuildProfile(t TargetInfo, stacks []analysis.Stack) (*profile.Profile, error) {
	b := newBuilder(t)
	for _, s := range stacks {
		b.add(s)
	}
	if b.main.Start > b.main.Limit { // no PC seen
		b.main.Start, b.main.Limit = 0, 0
	}
	if err := b.p.CheckValid(); err != nil {
		return nil, fmt.Errorf("report: invalid profile: %w", err)
	}
	return b.p, nil
}

// ProfilePath returns dir/<pid>/leak-<time>.pb.gz for t.
func ProfilePath(dir string, t TargetInfo) string {
	ts := t.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	name := "leak-" + ts.UTC().Format("20060102T150405Z") + ".pb.gz"
	return filepath.Join(dir, strconv.FormatUint(uint64(t.PID), 10), name)
}

// SaveProfile writes p, a profile of t, to ProfilePath(dir, t), atomically,
// creating the directory, and returns the path.
func SaveProfile(dir string, t TargetInfo, p *profile.Profile) (string, error) {
	path := ProfilePath(dir, t)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", errorf(path, err)
	}
	return path, errorf(path, writeFileAtomic(path, gzipProfile(p)))
}

// builder assembles a profile, deduplicating functions and locations.
type builder struct {
	t         TargetInfo
	p         *profile.Profile
	main      *profile.Mapping
	functions map[[2]string]*profile.Function // by name, file
	locations map[string]*profile.Location    // by PC and lines
}

func newBuilder(t TargetInfo) *builder {
	m := &profile.Mapping{
		ID: 1, Start: t.MapStart, Limit: t.MapLimit, Offset: t.MapOffset,
		File: t.Exe, BuildID: t.BuildID,
		// Already symbolized: pprof must not look for the binary.
		HasFunctions: true, HasFilenames: true, HasLineNumbers: true, HasInlineFrames: true,
	}
	if m.Limit == 0 {
		m.Start = ^uint64(0)
	}
	p := &profile.Profile{
		SampleType:        sampleTypes(),
		DefaultSampleType: "inuse_space",
		PeriodType:        &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:            t.MemProfileRate,
		Mapping:           []*profile.Mapping{m},
		Comments: []string{
			fmt.Sprintf("leakscope heap profile of pid %d (%s)", t.PID, t.Exe),
			"gc_cycles_survived: sum over live objects of GC cycles survived; divided by inuse_objects, their mean age",
		},
	}
	if !t.Time.IsZero() {
		p.TimeNanos = t.Time.UnixNano()
	}
	if t.GoVersion != "" {
		p.Comments = append(p.Comments, "go version: "+t.GoVersion)
	}
	if t.Container != "" {
		p.Comments = append(p.Comments, t.Container)
	}
	return &builder{
		t: t, p: p, main: m,
		functions: make(map[[2]string]*profile.Function),
		locations: make(map[string]*profile.Location),
	}
}

// add appends one sample for s.
func (b *builder) add(s analysis.Stack) {
	sample := &profile.Sample{
		Value: []int64{s.LiveObjects, s.LiveBytes, s.AllocObjects, s.AllocBytes, s.AgeGCCycles},
		Label: map[string][]string{
			"pid": {strconv.FormatUint(uint64(b.t.PID), 10)},
			"exe": {b.t.Exe},
		},
	}
	if s.Verdict != "" {
		sample.Label["verdict"] = []string{string(s.Verdict)}
	}
	if s.RetainedBy != "" {
		sample.Label["retained_by"] = []string{s.RetainedBy}
	}
	for _, frames := range splitLocations(s.Frames) {
		sample.Location = append(sample.Location, b.location(frames))
	}
	if len(sample.Location) == 0 { // the kernel could not walk the stack
		sample.Location = []*profile.Location{b.location([]symbolize.Frame{{Function: "(unknown stack)"}})}
	}
	b.p.Sample = append(b.p.Sample, sample)
}

// splitLocations cuts frames (innermost first) into one group per PC:
// the frames inlined at that PC (Inlined set), then the function they
// were inlined into, which ends the group. pprof wants the same order
// within a Location: innermost line first.
func splitLocations(frames []symbolize.Frame) [][]symbolize.Frame {
	var out [][]symbolize.Frame
	start := 0
	for i, f := range frames {
		last := i == len(frames)-1
		if !f.Inlined || last || frames[i+1].PC != f.PC {
			out = append(out, frames[start:i+1])
			start = i + 1
		}
	}
	return out
}

// location returns the Location for one PC's frames. The key includes the
// lines: a leak site inlined into its caller trims the inner lines of
// that PC's location, which must not be confused with the untrimmed one.
func (b *builder) location(frames []symbolize.Frame) *profile.Location {
	var key strings.Builder
	fmt.Fprintf(&key, "%x", frames[0].PC)
	for _, f := range frames {
		fmt.Fprintf(&key, "|%s:%s:%d", f.Function, f.File, f.Line)
	}
	if l, ok := b.locations[key.String()]; ok {
		return l
	}
	l := &profile.Location{
		ID:      uint64(len(b.p.Location) + 1),
		Mapping: b.main,
		Address: frames[0].PC,
	}
	for _, f := range frames {
		l.Line = append(l.Line, profile.Line{Function: b.function(f), Line: int64(f.Line)})
	}
	b.locations[key.String()] = l
	b.p.Location = append(b.p.Location, l)
	if pc := frames[0].PC; pc != 0 && b.t.MapLimit == 0 {
		b.main.Start = min(b.main.Start, pc)
		b.main.Limit = max(b.main.Limit, pc+1)
	}
	return l
}

// function returns the Function for f, one per name and file.
func (b *builder) function(f symbolize.Frame) *profile.Function {
	name := f.Function
	if name == "" {
		name = fmt.Sprintf("0x%x", f.PC)
	}
	key := [2]string{name, f.File}
	if fn, ok := b.functions[key]; ok {
		return fn
	}
	fn := &profile.Function{
		ID: uint64(len(b.p.Function) + 1), Name: name, SystemName: name, Filename: f.File,
	}
	b.functions[key] = fn
	b.p.Function = append(b.p.Function, fn)
	return fn
}
