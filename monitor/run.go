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

	"github.com/leakscope/leakscope/report"
	"github.com/leakscope/leakscope/symbolize"
	"github.com/leakscope/leakscope/tracer"
)

// Run watches cfg.PIDs until the duration ends, ctx is cancelled, or every
// target has exited. Each of those ends with final reports and a nil error.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if len(cfg.PIDs) == 0 {
		return errors.New("no target pid")
	}
	// Check every target before loading anything into the kernel, so bad
	// input fails fast with its own message.
	for _, pid := range cfg.PIDs {
		if _, err := identify(pid); err != nil {
			return err
		}
	}
	// An unwritable --out must fail before anything touches a target.
	if err := checkWritable(cfg.OutDir); err != nil {
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

	cache := &symbolize.Cache{}
	var targets []*target
	for _, pid := range cfg.PIDs {
		t, err := attach(tr, cache, pid, cfg, log)
		if err != nil {
			return err // the deferred Close detaches the ones attached so far
		}
		targets = append(targets, t)
		defer t.restoreRate(log) // runs before the tracer closes: the target is still ours
	}

	// The targets' own heap profiles, fetched off this loop; the fetchers
	// stop before the targets are detached.
	pctx, stopFetch := context.WithCancel(ctx)
	for _, t := range targets {
		t.startPprof(pctx, cfg.Pprof)
	}
	defer func() {
		stopFetch()
		for _, t := range targets {
			t.stopPprof()
		}
	}()

	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// The last interval: flush what we have and stop cleanly.
			return snapshotAndReport(tr, targets, cfg, log, true)
		case <-tick.C:
		}
		if err := snapshotAndReport(tr, targets, cfg, log, false); err != nil {
			return err
		}
		if allExited(targets) {
			log.Info("every target has exited")
			return nil
		}
	}
}

// snapshotAndReport reads the maps, updates the analysis, notices exited
// targets, and writes the table, suspects.json and the profiles.
func snapshotAndReport(tr *tracer.Tracer, targets []*target, cfg Config, log *slog.Logger, final bool) error {
	start := time.Now()
	snaps, err := tr.Snapshot()
	if err != nil {
		return fmt.Errorf("reading kernel maps: %w", err)
	}
	took := time.Since(start)
	for _, t := range targets {
		if t.exited {
			continue
		}
		gone := !t.id.alive()
		if s := snaps[t.id.pid]; s != nil {
			t.observe(s)
		}
		if gone {
			// The maps still hold its data; report it once more and let go.
			t.exited = true
			t.stopPprof()
			log.Info("target exited", "pid", t.id.pid, "exe", t.exe)
			if err := t.att.Close(); err != nil {
				log.Warn("detaching exited target", "pid", t.id.pid, "err", err)
			}
		}
	}
	doc, profiles, err := writeReports(targets, cfg, log, final)
	if cfg.Publish != nil {
		u := &report.Update{Doc: doc, Profiles: profiles, MapBytes: tr.MapMemory(), SnapshotDuration: took}
		if cfg.BPFStats || tracer.StatsEnabledBySysctl() {
			u.Programs = tr.ProgramStats()
		}
		cfg.Publish(u)
	}
	if err != nil {
		if final {
			return err // the last report is lost: say so in the exit status
		}
		log.Warn("writing reports failed; watching on", "err", err)
	}
	if cfg.Stdout != nil {
		if err := writeTable(cfg.Stdout, doc, targets, final); err != nil {
			log.Warn("writing the table", "err", err)
		}
	}
	return nil
}

// writeReports builds each target's leak profile and writes it, then
// suspects.json (which names the profiles); it returns the document and
// the profiles, by pid, even when writing failed.
func writeReports(targets []*target, cfg Config, log *slog.Logger, final bool) (*report.Document, map[uint32]*profile.Profile, error) {
	now := time.Now()
	var errs []error
	profiles := map[uint32]*profile.Profile{}
	for _, t := range targets {
		if t.last == nil {
			continue
		}
		info := t.info(now)
		p, err := report.BuildProfile(info, t.analysis.Stacks())
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

func allExited(targets []*target) bool {
	for _, t := range targets {
		if !t.exited {
			return false
		}
	}
	return true
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
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".leakscope-write-test-*")
	if err != nil {
		return fmt.Errorf("--out %s: not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
