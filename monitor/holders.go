package monitor

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/report"
	"github.com/leakscope/leakscope/retention"
	"github.com/leakscope/leakscope/snapshot"
)

// RetentionConfig is the retention-path part of a watch: what holds the
// objects of each leak suspect.
type RetentionConfig struct {
	Off    bool // search nothing
	Search retention.Config
	// Refresh is how long a suspect's paths are kept before they are
	// searched again (default 2 minutes): a search reads the whole
	// pointer-bearing heap, at most once per interval per target.
	Refresh time.Duration
	// worker is the watch's (Run sets it).
	worker *retentionWorker
}

// DefaultRetentionRefresh is RetentionConfig.Refresh's default.
const DefaultRetentionRefresh = 2 * time.Minute

// retentionWatch searches one target's retention paths.
type retentionWatch struct {
	searcher *retention.Searcher // opened at the first search (openSearcher)
	cfg      retention.Config
	refresh  time.Duration
	// unavailable is why the heap cannot be searched ("" when it can);
	// cfgOff says it is because the user turned searching off.
	unavailable string
	cfgOff      bool
	found       map[string]*analysis.Retention // per suspect (suspectKey)
	// rootOf is, per stack of a leak suspect with a path, the summary of
	// its first path (the pprof label).
	rootOf map[int32]string
	log    *slog.Logger
	// stats is what the searches cost and lost (report.Target.Retention).
	stats report.RetentionSearches
	// reported are the suspects of the latest report (what an on-demand
	// search may ask for); lastOnDemand the time of the latest such search.
	reported     []analysis.Suspect
	lastOnDemand time.Time
	// worker runs the searches (nil: each is run at once, in the loop);
	// jobsOut counts this target's jobs given to it and not yet applied;
	// sync asks for searches at once (the final report).
	worker  *retentionWorker
	jobsOut int
	sync    bool
}

// startRetention prepares the target's retention search. The heap is
// located and indexed (to verify the layout) only when a suspect first
// needs a search: indexing a heap costs memory in proportion to it, and
// most watched targets never have a leak (50 targets at once peaked at
// 130 MiB of leakscope RSS when every one was indexed at attach).
func (t *target) startRetention(cfg RetentionConfig, log *slog.Logger) {
	rw := &retentionWatch{refresh: cfg.Refresh, cfg: cfg.Search, found: map[string]*analysis.Retention{}, rootOf: map[int32]string{}, log: log, worker: cfg.worker,
		stats: report.RetentionSearches{Status: report.RetentionIdle, Dropped: map[string]uint64{}}}
	if rw.refresh <= 0 {
		rw.refresh = DefaultRetentionRefresh
	}
	t.ret = rw
	if cfg.Off {
		rw.unavailable, rw.cfgOff = "turned off", true
	}
}

// openSearcher locates the target's heap, once. A failure leaves a reason
// that every leak suspect of the target then shows; the rest goes on.
func (t *target) openSearcher() {
	rw := t.ret
	if rw.searcher != nil || rw.unavailable != "" {
		return
	}
	// Goroutine frames are roots only while goroutines are read; the
	// searcher reads them with its own reader, as it runs off the loop.
	var gr *goroutines.Reader
	if t.gor != nil && t.gor.reader != nil {
		r, err := goroutines.NewReader(goroutines.FromGobin(t.proc.Executable()), goroutines.ProcessMemory{PID: int(t.id.pid)}, t.proc.Bias(), t.gor.cfg)
		if err != nil {
			rw.log.Info("retention paths without goroutine frames", "pid", t.id.pid, "err", err)
		}
		gr = r
	}
	var err error
	rw.searcher, err = retention.NewSearcher(retention.FromGobin(t.proc.Executable()), goroutines.ProcessMemory{PID: int(t.id.pid)}, int(t.id.pid), t.proc.Bias(), gr, rw.cfg)
	if err != nil {
		rw.searcher = nil
		rw.unavailable = err.Error()
		rw.log.Warn("heap not readable: retention paths are off for this target", "pid", t.id.pid, "err", err)
		return
	}
	if gr == nil {
		rw.log.Info("retention paths without goroutine frames (goroutines not read)", "pid", t.id.pid)
	}
	rw.log.Info("retention paths on", "pid", t.id.pid, "arenas", rw.searcher.Arenas().How)
}

// suspectKey identifies a suspect across intervals.
func suspectKey(s *analysis.Suspect) string { return fmt.Sprint(s.Function, s.StackIDs) }

// retainedBy sets RetainedBy on each suspect: a leak suspect's from an
// earlier search while fresh, else it is searched (all of the target's
// stale ones in one search, from the oldest sampled objects of their
// stacks): by the watch's worker, the result in a later report, except in
// the final report (rw.sync), which searches at once. A suspect of another
// verdict shows a fresh on-demand result.
func (t *target) retainedBy(suspects []analysis.Suspect) {
	rw := t.ret
	if rw == nil || t.last == nil {
		return
	}
	rw.reported = slices.Clone(suspects) // the report's own are published: never written after
	now := time.Now()
	var stale []int
	for i := range suspects {
		s := &suspects[i]
		fresh := rw.found[suspectKey(s)]
		if fresh != nil && now.Sub(fresh.At) >= rw.refresh {
			fresh = nil
		}
		switch {
		case s.Verdict != analysis.VerdictLeak:
			s.RetainedBy = fresh
		case rw.unavailable != "":
			s.RetainedBy = unavailableRetention(rw.unavailable, now)
		case fresh != nil:
			s.RetainedBy = fresh
		default:
			stale = append(stale, i)
		}
	}
	rw.prune(suspects)
	if len(stale) > 0 && !t.exited {
		t.searchStale(suspects, stale, now)
	}
	clear(rw.rootOf)
	for i := range suspects {
		if r := suspects[i].RetainedBy; r != nil && len(r.Paths) > 0 {
			for _, id := range suspects[i].StackIDs {
				rw.rootOf[id] = r.Paths[0].Summary
			}
		}
	}
}

// searchStale searches for suspects[stale]: at once in the final report,
// else by the worker (one job out per target at a time), marking them
// pending meanwhile.
func (t *target) searchStale(suspects []analysis.Suspect, stale []int, now time.Time) {
	rw := t.ret
	if t.openSearcher(); rw.unavailable != "" {
		for _, i := range stale {
			suspects[i].RetainedBy = unavailableRetention(rw.unavailable, now)
		}
		return
	}
	if !rw.sync && rw.worker != nil {
		if rw.jobsOut == 0 {
			rw.worker.add(t.newJob(suspects, stale, now))
			rw.jobsOut++
		}
		for _, i := range stale {
			suspects[i].RetainedBy = &analysis.Retention{Status: analysis.RetentionPending, Paths: []analysis.RetentionPath{}, At: now,
				Reason: "a search is queued or running; a later report has its paths"}
		}
		return
	}
	j := t.newJob(suspects, stale, now)
	j.search()
	t.applyJob(j)
	for _, i := range stale {
		suspects[i].RetainedBy = rw.found[suspectKey(&suspects[i])]
	}
}

func unavailableRetention(why string, now time.Time) *analysis.Retention {
	return &analysis.Retention{Status: analysis.RetentionUnavailable, Reason: why, Paths: []analysis.RetentionPath{}, At: now}
}

// newJob is a search from the oldest sampled objects of the stacks of
// suspects[idx].
func (t *target) newJob(suspects []analysis.Suspect, idx []int, now time.Time) *retentionJob {
	j := &retentionJob{pid: t.id.pid, searcher: t.ret.searcher, owner: map[uint64][]string{}, at: now,
		sampled: sampledSites(suspects, t.last.Stacks)}
	for _, i := range idx {
		key := suspectKey(&suspects[i])
		j.keys = append(j.keys, key)
		for _, id := range suspects[i].StackIDs {
			st := t.last.Stacks[id]
			if st == nil {
				continue
			}
			for _, o := range st.Oldest {
				if _, ok := j.owner[o.Addr]; !ok {
					j.targets = append(j.targets, o.Addr)
				}
				j.owner[o.Addr] = append(j.owner[o.Addr], key)
			}
		}
	}
	return j
}

// applyJob keeps a finished search's paths per suspect, accounts for it,
// and answers the caller of an on-demand search.
func (t *target) applyJob(j *retentionJob) {
	rw := t.ret
	var reply onDemandReply
	defer func() {
		if j.reply != nil {
			j.reply <- reply
		}
	}()
	st := &rw.stats
	st.CPUSeconds += j.cpu.Seconds()
	if j.err != nil {
		if !errors.Is(j.err, goroutines.ErrGone) {
			rw.log.Warn("searching retention paths", "pid", t.id.pid, "err", j.err)
		}
		reply.err = j.err
		return
	}
	res := j.res
	st.Status = report.RetentionOn
	st.Searches++
	if j.onDemand {
		st.OnDemand++
	}
	if res.Cut {
		st.Cut++
	}
	st.SearchSeconds += res.Duration.Seconds()
	st.LastAt, st.LastSeconds, st.LastScannedBytes = time.Now(), res.Duration.Seconds(), res.ScannedBytes
	for why, n := range res.Dropped {
		st.Dropped[why] += uint64(n)
	}
	per := map[string][]retention.Path{}
	for _, p := range res.Paths {
		for _, k := range j.owner[p.Target] {
			per[k] = append(per[k], p)
		}
	}
	for _, k := range j.keys {
		r := retention.Summarize(per[k], res, j.at)
		if len(per[k]) == 0 {
			r.Reason = "no live sampled object to search from"
		}
		rw.found[k] = r
	}
	reply.r = rw.found[j.replyKey]
	rw.log.Debug("retention paths searched", "pid", t.id.pid, "on_demand", j.onDemand, "objects", len(j.targets), "levels", res.Depth,
		"scanned_bytes", res.ScannedBytes, "seconds", res.Duration.Seconds(), "cpu_seconds", j.cpu.Seconds(), "cut", res.Cut, "dropped", res.Dropped)
}

// threadCPU is the CPU time of the calling thread (0 if unreadable).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// retentionSection is the target's report.Target.Retention.
func (t *target) retentionSection() *report.RetentionSearches {
	rw := t.ret
	if rw == nil {
		return nil
	}
	st := rw.stats
	st.Dropped = maps.Clone(rw.stats.Dropped)
	if rw.unavailable != "" {
		st.Status, st.Reason = report.RetentionUnavailable, rw.unavailable
		if rw.cfgOff {
			st.Status, st.Reason = report.RetentionOff, ""
		}
	}
	return &st
}

// sampledSites are the oldest sampled live objects of every suspect, by
// address, with the function that allocated them: a search names a holder
// that is one of them (and has no type the runtime records) by its site.
func sampledSites(suspects []analysis.Suspect, stacks map[int32]*snapshot.StackStats) map[uint64]string {
	sites := map[uint64]string{}
	for i := range suspects {
		for _, id := range suspects[i].StackIDs {
			if st := stacks[id]; st != nil {
				for _, o := range st.Oldest {
					sites[o.Addr] = suspects[i].Function
				}
			}
		}
	}
	return sites
}

// labelRetention sets Stack.RetainedBy from the latest search (the
// profile is written before this interval's report, so the label can be
// one interval behind the suspects.json).
func (t *target) labelRetention(stacks []analysis.Stack) []analysis.Stack {
	if t.ret == nil || len(t.ret.rootOf) == 0 {
		return stacks
	}
	for i := range stacks {
		for _, id := range stacks[i].StackIDs {
			if r, ok := t.ret.rootOf[id]; ok {
				stacks[i].RetainedBy = r
				break
			}
		}
	}
	return stacks
}

// prune forgets the suspects no longer reported.
func (rw *retentionWatch) prune(suspects []analysis.Suspect) {
	keys := make([]string, 0, len(suspects))
	for i := range suspects {
		keys = append(keys, suspectKey(&suspects[i]))
	}
	for k := range rw.found {
		if !slices.Contains(keys, k) {
			delete(rw.found, k)
		}
	}
}
