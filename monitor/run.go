package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/pprof/profile"

	"github.com/leakscope/leakscope/cgroup"
	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/report"
	"github.com/leakscope/leakscope/snapshot"
	"github.com/leakscope/leakscope/tracer"
)

// ConfigError is a value of Config that cannot be used. Field names the
// Config field ("Containers", "Cgroups", "Within", "OutDir"), so that a
// caller can tell its user which setting to mend.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ErrNoTarget: the configuration names no pid and no selector.
var ErrNoTarget = errors.New("no target: no pid, container, cgroup or all-processes selector")

// exitedRetention is how long an exited target stays in the reports when
// targets come and go (containers, cgroups, --all): long enough for its
// final findings to be read, short enough that a host starting processes
// all day does not grow the reports without bound.
const exitedRetention = 5 * time.Minute

// Run watches cfg.PIDs and the processes cfg's selectors pick until the
// duration ends or ctx is cancelled; with pids only, also when every
// target has exited. Each of those ends with final reports and a nil
// error. A target that cannot be watched is reported and skipped; only
// when nothing at all can be watched is that an error.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	defer cfg.OnDemand.stop()
	sel, err := checkConfig(cfg)
	if err != nil {
		return err
	}
	tr, err := tracer.New(cfg.Maps)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := tr.Close(); cerr != nil {
			log.Warn("detaching", "err", cerr)
		}
	}()
	if cfg.BPFStats {
		stats, err := tracer.EnableStats()
		if err != nil {
			return fmt.Errorf("turning on BPF statistics: %w", err)
		}
		defer stats.Close()
	}
	for name, b := range tr.MapMemory() {
		log.Debug("kernel map", "name", name, "bytes", b)
	}

	// The targets' own heap profiles are fetched off this loop (pctx); the
	// fetchers stop before the targets are detached.
	pctx, stopFetch := context.WithCancel(ctx)
	// Retention searches run off the loop, until the watch ends.
	wctx, stopSearches := context.WithCancel(context.Background())
	defer stopSearches()
	if !cfg.Retention.Off {
		cfg.Retention.worker = newRetentionWorker()
		go cfg.Retention.worker.run(wctx)
	}
	w := newWatch(pctx, cfg, log, tr, sel)
	defer w.exes.bins.Close()
	defer w.restoreRates() // runs before the tracer closes: the targets are still ours
	defer func() {
		stopFetch()
		for _, t := range w.targets {
			t.stopPprof()
		}
	}()
	if err := w.attachNamed(); err != nil {
		return err
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	return w.loop(ctx)
}

// checkConfig checks every target and the output directory before anything
// is loaded into the kernel, so bad input fails fast with its own message.
func checkConfig(cfg Config) (*selection, error) {
	for _, pid := range cfg.PIDs {
		if _, err := identify(pid); err != nil {
			return nil, err
		}
	}
	sel, err := resolveSelection(cfg)
	if err != nil {
		return nil, err
	}
	if len(cfg.PIDs) == 0 && !sel.dynamic() {
		return nil, ErrNoTarget
	}
	// An unwritable output directory must fail before anything touches a
	// target.
	if err := checkWritable(cfg.OutDir); err != nil {
		return nil, &ConfigError{Field: "OutDir", Err: err}
	}
	rateState{dir: cfg.StateDir}.prune()
	return sel, nil
}

// newWatch starts a run on tr; the targets' heap-profile fetchers run
// under pctx.
func newWatch(pctx context.Context, cfg Config, log *slog.Logger, tr *tracer.Tracer, sel *selection) *watch {
	return &watch{cfg: cfg, log: log, tr: tr, exes: newExeCache(), pctx: pctx,
		sel: sel, scanner: newScanner(sel), live: map[uint32]*target{}, skipped: map[uint32]report.Skipped{}}
}

// attachNamed attaches the pids the operator named. Failing all of them is
// an error only when no selector can bring targets later.
func (w *watch) attachNamed() error {
	var failed []error
	for _, pid := range w.cfg.PIDs {
		if err := w.attachPID(pid); err != nil {
			failed = append(failed, err)
		}
	}
	if len(w.live) == 0 && !w.sel.dynamic() {
		return errors.Join(failed...)
	}
	return nil
}

// loop reports every interval and discovers new targets every discovery
// period, until ctx ends (a final report) or, with pids only, every target
// has exited.
func (w *watch) loop(ctx context.Context) error {
	var discoverC <-chan time.Time
	if w.sel.dynamic() {
		w.discover()
		period := w.cfg.Discovery
		if period <= 0 {
			period = time.Second
		}
		d := time.NewTicker(period)
		defer d.Stop()
		discoverC = d.C
		w.log.Info("watching for processes", "containers", w.sel.containers, "cgroups", w.sel.cgroups, "all", w.sel.all, "targets", len(w.live))
	}
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// The last interval: flush what we have and stop cleanly.
			w.finishSearches(w.cfg.Retention.worker, w.cfg.Retention.Search.Budget)
			return w.snapshotAndReport(true)
		case <-discoverC:
			w.discover()
			continue
		case req := <-w.cfg.OnDemand.requests():
			w.searchOnDemand(req)
			continue
		case j := <-w.cfg.Retention.worker.done():
			w.applyJob(j)
			continue
		case <-tick.C:
		}
		if err := w.snapshotAndReport(false); err != nil {
			return err
		}
		if !w.sel.dynamic() && len(w.live) == 0 {
			w.log.Info("every target has exited")
			return nil
		}
	}
}

// watch is one run: the tracer, the targets so far, and what selects more.
type watch struct {
	cfg     Config
	log     *slog.Logger
	tr      *tracer.Tracer
	exes    exeCache
	sel     *selection
	scanner *scanner
	pctx    context.Context // the targets' heap-profile fetchers run under it

	targets []*target          // attached, exited ones until exitedRetention
	live    map[uint32]*target // by pid, not exited
	skipped map[uint32]report.Skipped
	cost    costModel // cost per sample, for the targets' budgets
	own     ownCPU    // leakscope's own CPU, shared out over the targets
}

// attachPID attaches a pid the operator named.
func (w *watch) attachPID(pid uint32) error {
	id, err := identify(pid)
	if err != nil {
		return err
	}
	key, err := tracer.ExecutableOf(pid)
	if err != nil {
		return fmt.Errorf("pid %d: reading its executable: %w", pid, err)
	}
	where, _ := cgroup.Read(pid) // labels only: a host without cgroups still works
	return w.attach(candidate{id: id, exe: key, where: where})
}

// attach watches c, or records why it cannot.
func (w *watch) attach(c candidate) error {
	pid := c.id.pid
	exe := w.exes.inspect(pid, c.exe)
	err := exe.err
	if err != nil {
		err = fmt.Errorf("pid %d (%s): %w", pid, exeName(pid), err)
	} else {
		var t *target
		if t, err = attachTarget(w.tr, w.exes.bins, c, exe.hooks, w.cfg, w.log); err == nil {
			t.startPprof(w.pctx, w.cfg.Pprof)
			w.targets = append(w.targets, t)
			w.live[pid] = t
			delete(w.skipped, pid)
			return nil
		}
	}
	if c.byAllOnly && errors.Is(err, gobin.ErrNotGo) {
		return err // --all passes over non-Go programs silently
	}
	w.log.Warn("skipped: cannot watch", "pid", pid, "exe", exeName(pid), "container", c.where.ContainerID, "err", err)
	w.skipped[pid] = report.Skipped{PID: pid, Exe: exeName(pid), ContainerID: c.where.ContainerID, Reason: err.Error(), At: time.Now()}
	return err
}

// discover attaches the processes that entered the selection since the
// last look, and forgets skipped ones that have gone.
func (w *watch) discover() {
	for _, c := range w.scanner.scan() {
		if old := w.live[c.id.pid]; old != nil {
			if old.id == c.id && old.exeKey == c.exe {
				continue // named with --pid too
			}
			w.retire(old) // the pid was reused, or the process exec'd
		}
		_ = w.attach(c)
	}
	for pid, s := range w.skipped {
		if _, err := identify(pid); err != nil {
			delete(w.skipped, pid)
		} else if time.Since(s.At) > exitedRetention && w.sel.dynamic() {
			delete(w.skipped, pid)
		}
	}
}

// retire lets go of a target whose process ended; it stays in the reports,
// status exited, for exitedRetention.
func (w *watch) retire(t *target) {
	t.exited, t.exitedAt = true, time.Now()
	t.stopPprof()
	delete(w.live, t.id.pid)
	// The maps still hold its data until now; detaching removes it.
	if err := t.att.Close(); err != nil {
		w.log.Warn("detaching exited target", "pid", t.id.pid, "err", err)
	}
	if t.replaced {
		w.log.Warn("target replaced: it executed another program (or its pid was reused); detached", "pid", t.id.pid, "exe", t.exe,
			"now", exeName(t.id.pid), "container", t.containerID, "targets", len(w.live), "probe_sets", w.tr.ProbeSets())
		return
	}
	w.log.Info("target exited", "pid", t.id.pid, "exe", t.exe, "container", t.containerID,
		"targets", len(w.live), "probe_sets", w.tr.ProbeSets())
}

func (w *watch) restoreRates() {
	for _, t := range w.targets {
		t.restoreRate(w.log)
	}
}

// snapshotAndReport reads the maps, updates the analysis, notices exited
// targets, and writes the table, suspects.json and the profiles.
func (w *watch) snapshotAndReport(final bool) error {
	start := time.Now()
	snaps, err := w.tr.Snapshot()
	if err != nil {
		return fmt.Errorf("reading kernel maps: %w", err)
	}
	took := time.Since(start)
	now := time.Now()
	var progs map[string]snapshot.ProgramStat
	if w.cfg.BPFStats || tracer.StatsEnabledBySysctl() {
		progs = w.tr.ProgramStats()
	}
	w.cost.update(progs)
	own := w.own.perTarget(now, len(w.live))
	kept := w.targets[:0]
	for _, t := range w.targets {
		if t.exited {
			if w.sel.dynamic() && now.Sub(t.exitedAt) > exitedRetention {
				continue
			}
			kept = append(kept, t)
			continue
		}
		kept = append(kept, t)
		gone, replaced := !t.id.alive(), t.id.replaced()
		// A pid that now names another program (an exec, or the pid
		// reused) is not reported under the old one's identity: that
		// snapshot may hold the new program's samples.
		if s := snaps[t.id.pid]; s != nil && !replaced {
			t.observe(s)
			if !final && !gone {
				t.enforceBudget(s, w.cost.cost, own, w.log)
			}
		}
		if gone {
			t.replaced = replaced
			w.retire(t) // observed once more above: its last findings are reported
			if replaced && w.scanner != nil {
				w.scanner.forget(t.id.pid) // its new program may be selected too
			}
		}
	}
	w.targets = kept
	doc, profiles, err := w.writeReports()
	if w.cfg.Publish != nil {
		u := &report.Update{Doc: doc, Profiles: profiles, MapBytes: w.tr.MapMemory(), SnapshotDuration: took}
		u.Programs = progs
		w.cfg.Publish(u)
	}
	if err != nil {
		if final {
			return err // the last report is lost: say so in the exit status
		}
		w.log.Warn("writing reports failed; watching on", "err", err)
	}
	if w.cfg.Stdout != nil {
		if err := writeTable(w.cfg.Stdout, doc, w.targets, final); err != nil {
			w.log.Warn("writing the table", "err", err)
		}
	}
	return nil
}

// writeReports builds each target's leak profile and writes it, then
// suspects.json (which names the profiles); it returns the document and
// the profiles, by pid, even when writing failed.
func (w *watch) writeReports() (*report.Document, map[uint32]*profile.Profile, error) {
	targets, cfg, log := w.targets, w.cfg, w.log
	now := time.Now()
	var errs []error
	profiles := map[uint32]*profile.Profile{}
	wanted := cfg.OutDir != "" || cfg.Publish != nil // no files, no server: no profiles to build
	for _, t := range targets {
		if t.last == nil || !wanted {
			continue
		}
		info := t.info(now)
		if err := t.writeGoroutineProfile(cfg.OutDir, info); err != nil {
			errs = append(errs, fmt.Errorf("writing the goroutines profile of pid %d: %w", t.id.pid, err))
		}
		p, err := report.BuildProfile(info, t.labelRetention(t.analysis.Stacks()))
		if err != nil {
			errs = append(errs, fmt.Errorf("building the leak profile of pid %d: %w", t.id.pid, err))
			continue
		}
		profiles[t.id.pid] = p
		if cfg.OutDir == "" {
			continue
		}
		path, err := report.SaveProfile(cfg.OutDir, info, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("writing the leak profile of pid %d: %w", t.id.pid, err))
			continue
		}
		t.profile = path
		if err := pruneProfiles(filepath.Dir(path), cfg.KeepProfiles); err != nil {
			log.Warn("removing old profiles", "pid", t.id.pid, "err", err)
		}
	}
	doc := buildDocument(targets, now)
	doc.ProbeSets = w.tr.ProbeSets()
	for _, s := range w.skipped {
		doc.Skipped = append(doc.Skipped, s)
	}
	sort.Slice(doc.Skipped, func(i, j int) bool { return doc.Skipped[i].PID < doc.Skipped[j].PID })
	if cfg.OutDir != "" {
		if err := report.WriteJSON(cfg.OutDir, doc); err != nil {
			errs = append(errs, fmt.Errorf("writing suspects.json: %w", err))
		}
	}
	return doc, profiles, errors.Join(errs...)
}

func writeTable(w io.Writer, doc *report.Document, targets []*target, final bool) error {
	if final {
		fmt.Fprintln(w, "final report:")
	}
	if err := report.WriteTable(w, doc); err != nil {
		return err
	}
	if final {
		for _, t := range targets {
			if t.profile != "" {
				fmt.Fprintf(w, "leak profile of pid %d: go tool pprof -top %s\n", t.id.pid, t.profile)
			}
		}
	}
	return nil
}

func buildDocument(targets []*target, now time.Time) *report.Document {
	doc := &report.Document{GeneratedAt: now}
	for _, t := range targets {
		doc.Targets = append(doc.Targets, t.reportTarget())
	}
	sort.Slice(doc.Targets, func(i, j int) bool { return doc.Targets[i].PID < doc.Targets[j].PID })
	return doc
}

// checkWritable makes dir if needed and proves a file can be created in it.
func checkWritable(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".leakscope-write-test-*")
	if err != nil {
		return fmt.Errorf("output directory %s: not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
