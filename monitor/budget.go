package monitor

import (
	"log/slog"
	"math"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/budget"
	"github.com/leakscope/leakscope/report"
	"github.com/leakscope/leakscope/snapshot"
	"github.com/leakscope/leakscope/tracer"
)

// DefaultMaxOverhead is the default budget: 1% of one core per target.
const DefaultMaxOverhead = 0.01

// costModel is the cost per sample in force: the table's, its BPF part
// replaced by the kernel's figures over the last interval when BPF
// statistics are on.
type costModel struct {
	cost     budget.Cost
	prevRun  time.Duration
	prevRuns uint64
}

// sampleProgs are the programs that run per sample (all-allocs' mallocgc
// runs per allocation: its cost is that mode's, not the budget's).
var sampleProgs = [...]string{"setprofilebucket", "freeSpecial", "gcMarkTermination"}

// update takes the programs' cumulative statistics (nil when off).
func (m *costModel) update(stats map[string]snapshot.ProgramStat) {
	base := budget.Native()
	if stats == nil {
		m.cost = base
		return
	}
	var run time.Duration
	for _, name := range sampleProgs {
		run += stats[name].RunTime
	}
	runs := stats["setprofilebucket"].Runs
	if runs >= m.prevRuns && run >= m.prevRun {
		m.cost = base.WithLiveBPF(run-m.prevRun, runs-m.prevRuns)
	}
	m.prevRun, m.prevRuns = run, runs
}

// ownCPU shares leakscope's own CPU time out over its targets, per
// interval: on a host whose cores are all busy, it is CPU they do not get.
type ownCPU struct {
	prev   time.Duration
	prevAt time.Time
}

// perTarget returns the process's CPU since the last call, as a fraction
// of one core, divided by targets (0 on the first call or on failure).
func (o *ownCPU) perTarget(now time.Time, targets int) float64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	prev, prevAt := o.prev, o.prevAt
	o.prev, o.prevAt = used, now
	secs := now.Sub(prevAt).Seconds()
	if prevAt.IsZero() || secs <= 0 || used < prev || targets <= 0 {
		return 0
	}
	return (used - prev).Seconds() / secs / float64(targets)
}

// budgetState is one target's overhead budget.
type budgetState struct {
	ctl budget.Controller
	// writable: leakscope may write the rate (not --memprofilerate keep,
	// and the application has not set its own since: yielded).
	writable, yielded bool
	// withRuntime: leakscope turned sampling on, so the runtime's own
	// sampling work is watching's cost too.
	withRuntime bool

	prevSamples uint64
	prevAt      time.Time
	decision    budget.Decision
	own         float64 // leakscope's own CPU in decision.Overhead
	source      string
	measured    bool // decision holds an estimate
}

// startBudget sets the target's budget once its rate is applied.
func (t *target) startBudget(cfg Config) {
	t.budget = budgetState{
		ctl:         budget.Controller{Budget: cfg.MaxOverhead, Floor: t.rateNow},
		writable:    cfg.Rate.Mode != RateKeep,
		withRuntime: t.rateBefore == 0 && t.rateNow > 0,
		prevAt:      t.attachedAt, // every count was zero then
	}
	t.att.RateInForce(t.rateNow, 0)
}

// enforceBudget estimates what watching cost the target over the last
// interval (own: leakscope's own CPU for it, a fraction of one core) and,
// when over budget or calm again, writes a new rate.
func (t *target) enforceBudget(s *snapshot.Snapshot, cost budget.Cost, own float64, log *slog.Logger) {
	b := &t.budget
	samples := s.Events[snapshot.EventSamples]
	prevSamples, prevAt := b.prevSamples, b.prevAt
	b.prevSamples, b.prevAt = samples, s.Time
	if prevAt.IsZero() || samples < prevSamples {
		return
	}
	b.source = cost.Source
	o := budget.Observation{From: prevAt, To: s.Time, Samples: samples - prevSamples, Rate: t.rateNow,
		PerSample: cost.PerSample(b.withRuntime), Own: own}
	b.own = own
	if !b.writable {
		b.decision, b.measured = budget.Decision{Overhead: o.Overhead(), Rate: t.rateNow}, true
		return
	}
	d := b.ctl.Observe(o)
	b.decision, b.measured = d, true
	if d.Rate == t.rateNow {
		return
	}
	if err := t.setRate(d.Rate); err != nil {
		b.ctl.Reset()
		b.decision.Rate, b.decision.Active = t.rateNow, t.rateNow > b.ctl.Floor
		log.Warn("the overhead budget could not change runtime.MemProfileRate", "pid", t.id.pid, "err", err)
		return
	}
	log.Info("overhead budget: changed the target's runtime.MemProfileRate", "pid", t.id.pid,
		"to", d.Rate, "configured", b.ctl.Floor, "estimated_overhead", d.Overhead, "budget", b.ctl.Budget)
}

// setRate writes a new rate chosen by the budget, recording it for a
// later restore (as applyRate does) and in the tracer's rate timeline.
func (t *target) setRate(rate int64) error {
	// The record names the rate now set, so that a leakscope started
	// after a kill -9 knows the value as its predecessor's.
	rec := rateRecord{PID: t.id.pid, Start: t.id.start, Exe: t.exe, Addr: t.rate.Addr,
		Before: t.rateBefore, Set: rate, By: os.Getpid(), ChangedAt: time.Now().UTC()}
	_ = t.state.save(t.id, rec) // best effort; applyRate warned if the directory is unusable
	at := tracer.MonotonicNS()
	if _, err := t.rate.Set(rate); err != nil {
		// The record must name the value still in force, or a later
		// leakscope would take it for the application's own.
		if t.rateChanged {
			rec.Set = t.rateNow
			_ = t.state.save(t.id, rec)
		} else {
			_ = t.state.remove(t.id)
		}
		return err
	}
	t.att.RateInForce(rate, at)
	t.rateNow, t.rateChanged = rate, true
	return nil
}

// reportBudget fills the target's cost and sensitivity figures.
func (t *target) reportBudget(rt *report.Target) {
	b := &t.budget
	// The detector's counts are at the reference rate once the rate has
	// moved (snapshot.Snapshot.RateRef): its sensitivity is that rate's.
	detect := t.rateNow
	if t.last != nil && t.last.RateRef > 0 {
		detect = t.last.RateRef
	}
	c := report.Cost{
		EffectiveRate:    t.rateNow,
		ConfiguredRate:   b.ctl.Floor,
		BudgetActive:     b.decision.Active,
		MaxOverhead:      b.ctl.Budget,
		Source:           b.source,
		DetectionLimit1m: finite(analysis.DetectionLimit(detect, time.Minute)),
		DetectionLimit5m: finite(analysis.DetectionLimit(detect, 5*time.Minute)),
	}
	if b.measured {
		c.EstimatedOverhead, c.OwnCPU = &b.decision.Overhead, &b.own
	}
	switch {
	case b.yielded && b.ctl.Budget > 0:
		c.Note = "the application set its own rate: the overhead is estimated, not bounded"
	case !b.writable && b.ctl.Budget > 0:
		c.Note = "the rate policy forbids writing the target's rate: the overhead is estimated, not bounded"
	}
	rt.Cost = &c
}

// finite is v, or nil when v is infinite (no leak can be named).
func finite(v float64) *float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return &v
}
