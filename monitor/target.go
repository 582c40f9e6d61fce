package monitor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/containermeta"
	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/report"
	"github.com/leakscope/leakscope/snapshot"
	"github.com/leakscope/leakscope/symbolize"
	"github.com/leakscope/leakscope/tracer"
)

// target is one watched process.
type target struct {
	id          procIdentity
	exeKey      tracer.ExeKey
	nsPID       uint32 // the pid in its own PID namespace
	containerID string
	meta        containermeta.Meta // names of the container, from its runtime
	cgroup      string
	exe         string
	goVersion   string
	proc        *symbolize.Process
	att         *tracer.Attachment
	rate        tracer.ProfileRate
	analysis    *analysis.Target
	// maxSuspects also caps the exact allocation sites reported.
	maxSuspects int

	rateBefore  int64 // MemProfileRate found at attach
	rateNow     int64 // MemProfileRate at the last snapshot
	rateChanged bool  // leakscope wrote MemProfileRate
	state       rateState
	notes       []string // warnings for the report
	exited      bool
	exitedAt    time.Time
	replaced    bool // exited by executing another program, or the pid reused
	last        *snapshot.Snapshot
	profile     string // the latest leak profile written
	attachedAt  time.Time
	pprof       *pprofCheck
	budget      budgetState
	gor         *goroutineWatch // nil until attached
	ret         *retentionWatch // nil until attached
}

// attachTarget watches the process c with the hooks of its executable: it
// attaches the probes and applies the sampling policy. On error nothing
// stays attached.
func attachTarget(tr *tracer.Tracer, bins *gobin.Cache, c candidate, hooks *gobin.Hooks, cfg Config, log *slog.Logger) (_ *target, err error) {
	pid := c.id.pid
	if !gobin.KnownVersion(hooks.GoVersion) {
		log.Warn("Go version not in leakscope's tables: watching it because every hook and constant verified by decoding",
			"pid", pid, "go", orUnknown(hooks.GoVersion), "special_kind", hooks.SpecialKindWhy, "memprofilerate", hooks.MemProfileRateWhy)
	}
	proc, err := symbolize.OpenProcess(int(pid), bins)
	if err != nil {
		return nil, fmt.Errorf("pid %d: reading its binary and mappings: %w", pid, err)
	}
	t := &target{
		id:          c.id,
		exeKey:      c.exe,
		nsPID:       nsPID(pid),
		containerID: c.where.ContainerID,
		cgroup:      c.where.Path,
		exe:         exeName(pid),
		goVersion:   hooks.GoVersion,
		proc:        proc,
		rate:        tracer.ProfileRate{PID: pid, Addr: hooks.MemProfileRateAddr + proc.Bias()},
		maxSuspects: cfg.MaxSuspects,
		analysis: analysis.NewTarget(analysis.Config{
			Interval:    cfg.Interval,
			MaxSuspects: cfg.MaxSuspects,
		}),
	}
	t.meta = containerMeta(cfg.Meta, t.containerID, log)
	if t.rateBefore, err = t.rate.Read(); err != nil {
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	t.rateNow = t.rateBefore
	t.state = rateState{dir: cfg.StateDir}
	t.noticeEarlierChange(cfg.Rate, log)

	// Probes first, then sampling: no sample taken after the switch is missed.
	if t.att, err = tr.Attach(pid, hooks); err != nil {
		return nil, err
	}
	t.attachedAt = time.Now()
	defer func() {
		if err != nil {
			err = errors.Join(err, t.att.Close())
		}
	}()
	// The pid may have changed hands while we read its binary and
	// attached: probes on another program must not stay.
	if !c.id.alive() {
		return nil, fmt.Errorf("pid %d exited or executed another program while leakscope attached", pid)
	}
	if cfg.AllAllocs {
		if err := attachAllAllocs(t.att, proc.Executable(), log); err != nil {
			return nil, fmt.Errorf("pid %d: %w", pid, err)
		}
	}
	if err := t.applyRate(cfg.Rate, log); err != nil {
		return nil, err
	}
	t.startBudget(cfg)
	t.startGoroutines(cfg.Goroutines, log)
	t.startRetention(cfg.Retention, log)
	log.Info("attached", "pid", pid, "ns_pid", t.nsPID, "container", t.containerID, "container_name", t.meta.Name, "pod", t.meta.Pod, "namespace", t.meta.Namespace, "exe", t.exe, "go", t.goVersion,
		"memprofilerate", t.rateNow, "set_by_leakscope", t.rateChanged, "probe_sets", tr.ProbeSets())
	return t, nil
}

// applyRate writes the rate the policy asks for, if it is not in force.
// It compares with the value in force, not the one found: after a kill -9
// the value in force may be a rate the earlier leakscope's budget raised,
// and the policy's rate is the budget's floor.
func (t *target) applyRate(p RatePolicy, log *slog.Logger) error {
	want := int64(-1)
	switch p.Mode {
	case RateAuto:
		want = t.rateBefore // the target's own, when it samples
		if want == 0 {
			want = DefaultRate
		}
	case RateSet:
		want = p.Rate
	}
	if want < 0 || want == t.rateNow {
		if want < 0 && t.rateNow == 0 {
			log.Warn("heap sampling is off in the target and --memprofilerate keep forbids turning it on: no samples will be seen", "pid", t.id.pid)
		}
		return nil
	}
	// Recorded first: if leakscope dies before restoring, the next
	// leakscope finds the record (noticeEarlierChange).
	rec := rateRecord{PID: t.id.pid, Start: t.id.start, Exe: t.exe, Addr: t.rate.Addr,
		Before: t.rateBefore, Set: want, By: os.Getpid(), ChangedAt: time.Now().UTC()}
	if err := t.state.save(t.id, rec); err != nil {
		log.Warn("cannot record the MemProfileRate change: a leakscope killed before restoring it cannot be detected later", "dir", t.state.dir, "err", err)
	}
	if _, err := t.rate.Set(want); err != nil {
		_ = t.state.remove(t.id)
		return fmt.Errorf("pid %d: setting runtime.MemProfileRate: %w", t.id.pid, err)
	}
	log.Warn("changed the target's runtime.MemProfileRate; leakscope restores it on a clean exit (after a kill -9 the next leakscope reports it and restores it), and meanwhile the target's own heap profiles scale with it",
		"pid", t.id.pid, "from", t.rateNow, "to", want)
	t.rateNow, t.rateChanged = want, true
	return nil
}

// restoreRate puts back the MemProfileRate found at attach, unless the
// target exited or changed the value itself since.
func (t *target) restoreRate(log *slog.Logger) {
	if !t.rateChanged {
		return
	}
	if t.exited || !t.id.alive() {
		_ = t.state.remove(t.id) // nothing left to restore
		return
	}
	if cur, err := t.rate.Read(); err != nil || cur != t.rateNow {
		_ = t.state.remove(t.id) // the application set its own
		return
	}
	if _, err := t.rate.Set(t.rateBefore); err != nil {
		log.Warn("restoring runtime.MemProfileRate", "pid", t.id.pid, "err", err)
		return
	}
	if err := t.state.remove(t.id); err != nil {
		log.Warn("removing the record of the MemProfileRate change", "err", err)
	}
	log.Info("restored runtime.MemProfileRate", "pid", t.id.pid, "to", t.rateBefore)
}

// noticeEarlierChange looks for the record an earlier leakscope left when
// it changed this process's MemProfileRate and was killed before it could
// restore it. If the value is still the one it set, the target is
// reported (log and suspects.json notes) and, unless --memprofilerate
// keep forbids writing, the value found before that change is the one
// this leakscope restores on a clean exit.
func (t *target) noticeEarlierChange(p RatePolicy, log *slog.Logger) {
	rec, err := t.state.load(t.id)
	if err != nil {
		log.Warn("reading the record of an earlier MemProfileRate change", "pid", t.id.pid, "err", err)
		return
	}
	if rec == nil {
		return
	}
	if t.rateBefore != rec.Set {
		// The application has set its own value since: nothing to undo.
		_ = t.state.remove(t.id)
		return
	}
	note := fmt.Sprintf("runtime.MemProfileRate was left at %d (from %d) by leakscope pid %d at %s, which did not exit cleanly",
		rec.Set, rec.Before, rec.By, rec.ChangedAt.Format(time.RFC3339))
	if p.Mode == RateKeep {
		note += "; --memprofilerate keep: not restored"
	} else {
		note += fmt.Sprintf("; it will be restored to %d on a clean exit", rec.Before)
		t.rateBefore, t.rateChanged = rec.Before, true
	}
	t.notes = append(t.notes, note)
	log.Warn("an earlier leakscope left this target's MemProfileRate changed", "pid", t.id.pid,
		"rate", rec.Set, "original", rec.Before, "by_pid", rec.By, "at", rec.ChangedAt)
}

// observe feeds one snapshot to the analysis.
func (t *target) observe(s *snapshot.Snapshot) {
	if r, err := t.rate.Read(); err == nil && r != t.rateNow {
		t.rateNow = r
		t.att.RateInForce(r, tracer.MonotonicNS())
		t.yieldRate()
	}
	s.MemProfileRate = t.rateNow
	_ = t.proc.Refresh() // libraries loaded since attach; fails once it exits
	t.last = s
	t.analysis.Add(s, t.proc)
	t.observePprof(s)
	t.observeGoroutines()
}

// yieldRate hands the rate back to the application, which has just set
// its own: leakscope neither changes it again (the budget only estimates
// from now on) nor restores the value it found, which would undo the
// application's choice, and no record is left for a later leakscope.
func (t *target) yieldRate() {
	if t.budget.writable {
		t.budget.writable, t.budget.yielded = false, true
	}
	t.budget.withRuntime = false // the sampling is the application's own now
	if !t.rateChanged {
		return
	}
	t.rateChanged = false
	_ = t.state.remove(t.id)
	t.notes = append(t.notes, fmt.Sprintf("the application set its own runtime.MemProfileRate (%d) at %s: leakscope no longer changes it and will not restore %d",
		t.rateNow, time.Now().UTC().Format(time.RFC3339), t.rateBefore))
}

func orUnknown(v string) string {
	if v == "" {
		return "unknown Go version"
	}
	return v
}

// info describes the target for its pprof profile.
func (t *target) info(now time.Time) report.TargetInfo {
	return report.TargetInfo{
		PID:            t.id.pid,
		Exe:            t.exe,
		BuildID:        t.proc.Executable().BuildID(),
		GoVersion:      t.goVersion,
		MemProfileRate: t.rateNow,
		Time:           now,
		Container:      describeContainer(t.containerID, t.meta),
	}
}

// reportTarget is the target's entry in suspects.json.
func (t *target) reportTarget() report.Target {
	rt := report.Target{
		PID:                          t.id.pid,
		HostPID:                      t.id.pid,
		NSPID:                        t.nsPID,
		ContainerID:                  t.containerID,
		ContainerName:                t.meta.Name,
		Pod:                          t.meta.Pod,
		Namespace:                    t.meta.Namespace,
		PodUID:                       t.meta.PodUID,
		Cgroup:                       t.cgroup,
		Exe:                          t.exe,
		GoVersion:                    t.goVersion,
		MemProfileRate:               t.rateNow,
		MemProfileRateSetByLeakscope: t.rateChanged,
		Status:                       report.StatusStarting,
		Profile:                      t.profile,
		Notes:                        t.notes,
	}
	if t.last != nil {
		rt.Observe(t.last)
		rt.MemProfileRate = t.rateNow
		rt.Status = report.StatusWatching
		rt.Suspects = t.analysis.Suspects()
		rt.Incomplete = t.analysis.Incomplete()
		rt.GC = report.NewGCRegime(t.analysis.Regime(), t.id.pid)
		if t.last.AllocSites != nil {
			rt.ExactAllocs = analysis.AllocSites(t.last.AllocSites, t.proc, t.maxSuspects)
		}
	}
	t.reportBudget(&rt)
	t.checkPprof(&rt)
	t.retainedBy(rt.Suspects)
	rt.Retention = t.retentionSection()
	rt.Goroutines = t.goroutineSection(rt.Suspects)
	if t.exited {
		rt.Status = report.StatusExited
	}
	if t.replaced {
		rt.Status = report.StatusReplaced
	}
	return rt
}
