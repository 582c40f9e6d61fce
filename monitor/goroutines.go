package monitor

import (
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/report"
)

// GoroutineConfig is the goroutine-leak part of a watch.
type GoroutineConfig struct {
	Off     bool // read no goroutines
	Read    goroutines.Config
	Verdict goroutines.TrackerConfig
}

// goroutineWatch reads one target's goroutines every interval.
type goroutineWatch struct {
	reader  *goroutines.Reader
	cfg     goroutines.Config // the reader's, for another reader (retention)
	tracker *goroutines.Tracker
	section report.Goroutines
	log     *slog.Logger
	reading crosscheck.GoroutineReading // the last read, for the cross-check
}

// startGoroutines finds the target's goroutine list. Any failure turns the
// goroutine part off for this target with its reason; the heap part goes
// on.
func (t *target) startGoroutines(cfg GoroutineConfig, log *slog.Logger) {
	gw := &goroutineWatch{section: report.Goroutines{Status: report.GoroutinesOff, Suspects: []goroutines.Suspect{}}, log: log, cfg: cfg.Read}
	t.gor = gw
	if cfg.Off {
		gw.section.Reason = "turned off"
		return
	}
	// The executable symbolization already holds (one reader per
	// executable, shared through the watch's cache).
	var err error
	gw.reader, err = goroutines.NewReader(goroutines.FromGobin(t.proc.Executable()), goroutines.ProcessMemory{PID: int(t.id.pid)}, t.proc.Bias(), cfg.Read)
	if err != nil {
		gw.section.Status, gw.section.Reason = report.GoroutinesError, err.Error()
		log.Warn("goroutines not read: leak detection of goroutines is off for this target", "pid", t.id.pid, "err", err)
		return
	}
	l := gw.reader.Layout()
	gw.section.Status, gw.section.Layout, gw.section.Roots = report.GoroutinesWatching, l.Release+"/"+l.Arch, gw.reader.Roots().How
	gw.tracker = goroutines.NewTracker(cfg.Verdict, l, t.proc)
	log.Info("reading goroutines", "pid", t.id.pid, "layout", gw.section.Layout, "allgs", gw.section.Roots)
}

// observeGoroutines reads the goroutines once; a read that fails is
// reported in the section (and counted), the next interval tries again,
// unless the process is gone.
func (t *target) observeGoroutines() {
	gw := t.gor
	if gw == nil || gw.reader == nil {
		return
	}
	start := time.Now()
	s, err := gw.reader.Read()
	gw.section.ReadSeconds = time.Since(start).Seconds()
	if err != nil {
		if errors.Is(err, goroutines.ErrGone) {
			return
		}
		gw.section.Reason = "last read failed: " + err.Error()
		gw.log.Warn("reading goroutines", "pid", t.id.pid, "err", err)
		return
	}
	gw.section.Reason = ""
	gw.tracker.Observe(s)
	gw.section.Summary = gw.tracker.Summary()
	gw.section.Suspects = gw.tracker.Suspects()
	sum := gw.section.Summary
	lost := sum.Skipped + sum.Ungrouped
	for _, n := range sum.Dropped {
		lost += n
	}
	gw.reading = crosscheck.GoroutineReading{At: s.Time, BlockedIn: gw.tracker.BlockedIn(), Lost: int64(lost)}
}

// goroutineSection is the target's goroutine part of suspects.json, its
// suspects linked to the heap suspects.
func (t *target) goroutineSection(heap []analysis.Suspect) *report.Goroutines {
	if t.gor == nil {
		return nil
	}
	s := t.gor.section
	s.Suspects = slices.Clone(s.Suspects)
	linkHeapSuspects(s.Suspects, heap)
	nameGoroutineDescriptors(heap, s.Suspects)
	s.Pprof = t.checkPprofGoroutines(s.Suspects)
	return &s
}

// maxCreatedBy bounds the creation sites named on one heap suspect.
const maxCreatedBy = 3

// nameGoroutineDescriptors names, on the heap suspects that are goroutine
// descriptors (site runtime.malg), the creation sites of the goroutine
// groups that grow: a leak or watch verdict, or a positive growth,
// strongest first (gs is ranked). When the heap stack does reach user code
// (a toolchain that unwinds past the system stack), only the groups
// created there are named.
func nameGoroutineDescriptors(heap []analysis.Suspect, gs []goroutines.Suspect) {
	for i := range heap {
		h := &heap[i]
		h.GoroutineCreatedBy = nil
		if h.Function != "runtime.malg" {
			continue
		}
		users := map[string]bool{}
		for _, f := range h.Stack {
			name, _, _ := strings.Cut(f, " (")
			if !strings.HasPrefix(name, "runtime.") {
				users[name] = true
			}
		}
		for _, g := range gs {
			if len(h.GoroutineCreatedBy) == maxCreatedBy {
				break
			}
			if g.Verdict == "" && g.GrowthPerSecond <= 0 {
				continue
			}
			if len(users) > 0 && !users[g.CreatedBy.Function] {
				continue
			}
			site := fmt.Sprintf("%s (%s:%d)", g.CreatedBy.Function, path.Base(g.CreatedBy.File), g.CreatedBy.Line)
			if !slices.Contains(h.GoroutineCreatedBy, site) {
				h.GoroutineCreatedBy = append(h.GoroutineCreatedBy, site)
			}
		}
	}
}

// writeGoroutineProfile writes the target's goroutine profile to dir
// (none while its goroutines are not read).
func (t *target) writeGoroutineProfile(dir string, info report.TargetInfo) error {
	gw := t.gor
	if gw == nil || gw.tracker == nil || dir == "" {
		return nil
	}
	p, err := report.BuildGoroutineProfile(info, gw.section.Suspects)
	if err != nil {
		return err
	}
	path, err := report.SaveGoroutineProfile(dir, info, p)
	if err != nil {
		return err
	}
	gw.section.Profile = path
	return nil
}

// linkHeapSuspects names, on each goroutine suspect, the heap suspects
// whose allocation stack passes through one of its functions (creation
// site, start function, blocked frames).
func linkHeapSuspects(gs []goroutines.Suspect, heap []analysis.Suspect) {
	for i := range gs {
		g := &gs[i]
		fns := map[string]bool{g.CreatedBy.Function: true, g.StartFunction: true}
		for _, b := range g.Blocked {
			fns[b.Function] = true
		}
		g.HeapSuspects = nil
		for _, h := range heap {
			if heapStackHas(h, fns) && !slices.Contains(g.HeapSuspects, h.Function) {
				g.HeapSuspects = append(g.HeapSuspects, h.Function)
			}
		}
	}
}

// heapStackHas: a heap suspect's stack frames read "pkg.fn (file:line)".
func heapStackHas(h analysis.Suspect, fns map[string]bool) bool {
	if fns[h.Function] {
		return true
	}
	for _, f := range h.Stack {
		name, _, _ := strings.Cut(f, " (")
		if fns[name] {
			return true
		}
	}
	return false
}
