package monitor

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/goroutines"
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
}

// DefaultRetentionRefresh is RetentionConfig.Refresh's default.
const DefaultRetentionRefresh = 2 * time.Minute

// retentionWatch searches one target's retention paths.
type retentionWatch struct {
	searcher *retention.Searcher // opened at the first search (openSearcher)
	cfg      retention.Config
	refresh  time.Duration
	// unavailable is why the heap cannot be searched ("" when it can).
	unavailable string
	found       map[string]*analysis.Retention // per suspect (suspectKey)
	// rootOf is, per stack of a leak suspect with a path, the summary of
	// its first path (the pprof label).
	rootOf map[int32]string
	log    *slog.Logger
}

// startRetention prepares the target's retention search. The heap is
// located and indexed (to verify the layout) only when a suspect first
// needs a search: indexing a heap costs memory in proportion to it, and
// most watched targets never have a leak (50 targets at once peaked at
// 130 MiB of leakscope RSS when every one was indexed at attach).
func (t *target) startRetention(cfg RetentionConfig, log *slog.Logger) {
	rw := &retentionWatch{refresh: cfg.Refresh, cfg: cfg.Search, found: map[string]*analysis.Retention{}, rootOf: map[int32]string{}, log: log}
	if rw.refresh <= 0 {
		rw.refresh = DefaultRetentionRefresh
	}
	t.ret = rw
	if cfg.Off {
		rw.unavailable = "turned off"
	}
}

// openSearcher locates the target's heap, once. A failure leaves a reason
// that every leak suspect of the target then shows; the rest goes on.
func (t *target) openSearcher() {
	rw := t.ret
	if rw.searcher != nil || rw.unavailable != "" {
		return
	}
	var gr *goroutines.Reader // goroutine frames are roots only while goroutines are read
	if t.gor != nil {
		gr = t.gor.reader
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

// retainedBy sets RetainedBy on each leak suspect: kept from an earlier
// search while fresh, else searched now (all of them in one search, from
// the oldest sampled objects of their stacks).
func (t *target) retainedBy(suspects []analysis.Suspect) {
	rw := t.ret
	if rw == nil || t.last == nil {
		return
	}
	now := time.Now()
	var stale []int
	for i := range suspects {
		s := &suspects[i]
		if s.Verdict != analysis.VerdictLeak {
			continue
		}
		if rw.unavailable != "" {
			s.RetainedBy = &analysis.Retention{Status: analysis.RetentionUnavailable, Reason: rw.unavailable, Paths: []analysis.RetentionPath{}, At: now}
			continue
		}
		if r := rw.found[suspectKey(s)]; r != nil && now.Sub(r.At) < rw.refresh {
			s.RetainedBy = r
			continue
		}
		stale = append(stale, i)
	}
	if len(stale) == 0 || t.exited {
		return
	}
	if t.openSearcher(); rw.unavailable != "" {
		for _, i := range stale {
			suspects[i].RetainedBy = &analysis.Retention{Status: analysis.RetentionUnavailable, Reason: rw.unavailable, Paths: []analysis.RetentionPath{}, At: now}
		}
		return
	}
	var targets []uint64
	owner := map[uint64][]int{} // sampled address -> suspects
	for _, i := range stale {
		for _, id := range suspects[i].StackIDs {
			st := t.last.Stacks[id]
			if st == nil {
				continue
			}
			for _, o := range st.Oldest {
				if _, ok := owner[o.Addr]; !ok {
					targets = append(targets, o.Addr)
				}
				owner[o.Addr] = append(owner[o.Addr], i)
			}
		}
	}
	rw.searcher.SetSampled(sampledSites(suspects, t.last.Stacks))
	res, err := rw.searcher.Search(targets)
	if err != nil {
		if !errors.Is(err, goroutines.ErrGone) {
			rw.log.Warn("searching retention paths", "pid", t.id.pid, "err", err)
		}
		return
	}
	per := map[int][]retention.Path{}
	for _, p := range res.Paths {
		for _, i := range owner[p.Target] {
			per[i] = append(per[i], p)
		}
	}
	for _, i := range stale {
		s := &suspects[i]
		r := retention.Summarize(per[i], res, now)
		if len(per[i]) == 0 {
			r.Reason = "no live sampled object to search from"
		}
		rw.found[suspectKey(s)] = r
		s.RetainedBy = r
	}
	rw.log.Debug("retention paths searched", "pid", t.id.pid, "objects", len(targets), "levels", res.Depth,
		"scanned_bytes", res.ScannedBytes, "seconds", res.Duration.Seconds(), "cut", res.Cut, "dropped", res.Dropped)
	rw.prune(suspects)
	clear(rw.rootOf)
	for i := range suspects {
		if r := suspects[i].RetainedBy; r != nil && len(r.Paths) > 0 {
			for _, id := range suspects[i].StackIDs {
				rw.rootOf[id] = r.Paths[0].Summary
			}
		}
	}
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
