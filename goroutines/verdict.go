package goroutines

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/symbolize"
)

// Verdicts.
const (
	VerdictLeak  = "leak"  // old goroutines keep accumulating
	VerdictWatch = "watch" // growing, not yet proven
)

// Evidence is what a group's verdict rests on, over the window.
type Evidence struct {
	// WindowSeconds is the time over which goroutines could have become
	// overdue (since attach plus the overdue age, at most Window).
	WindowSeconds float64 `json:"window_seconds"`
	Points        int     `json:"points"`
	// OverdueAgeSeconds is the age at which a goroutine of the group is
	// overdue: MinOldAge, or 4 times the age by which 90% of its ended
	// goroutines had ended.
	OverdueAgeSeconds float64 `json:"overdue_age_seconds"`
	// Arrivals counts goroutines born since attach that became overdue in
	// the window, ArrivalSnapshots the snapshots they did so in; Deaths
	// the overdue goroutines that ended in the window (pre-attach ones
	// count once seen for the overdue age).
	Arrivals         int `json:"arrivals"`
	ArrivalSnapshots int `json:"arrival_snapshots"`
	// ArrivalSpanSeconds is from the first arrival in the window to the
	// last: a burst that ages past the overdue age at once spans little.
	ArrivalSpanSeconds float64 `json:"arrival_span_seconds"`
	RecentArrivals     int     `json:"recent_arrivals"`
	Deaths             int     `json:"deaths"`
	// P is P(X >= Arrivals) for X ~ Binomial(Arrivals+Deaths, 1/2): without
	// accumulation, overdue goroutines end as fast as they appear.
	P float64 `json:"p_value"`
	// TrendP is the Mann-Kendall p-value of the member count rising.
	TrendP float64 `json:"trend_p_value"`
}

// judge sets gr.verdict. `leak` needs all of: the window spans MinWindow
// with minLeakPoints snapshots; overdue goroutines appear faster than they
// end (binomial test at Alpha); they did so in minArrivalSnapshots
// distinct snapshots, over at least half the window, and still in its
// most recent third.
// A fixed pool, boot-time goroutines (pre-attach, never overdue by
// arrival), per-request goroutines (they end before the overdue age) and
// a fan-out burst (one step, then ends) each fail one of these.
func (t *Tracker) judge(gr *group, now time.Time) {
	ev := t.evidence(gr, now)
	switch {
	case ev.WindowSeconds >= t.cfg.MinWindow.Seconds() && ev.Points >= minLeakPoints &&
		ev.P < t.cfg.Alpha && ev.ArrivalSnapshots >= minArrivalSnapshots && ev.RecentArrivals > 0 &&
		ev.ArrivalSpanSeconds >= ev.WindowSeconds/2:
		gr.verdict = VerdictLeak
		if gr.firstLeakAt.IsZero() {
			gr.firstLeakAt = now
		}
	case ev.Points >= 3 && (ev.P < t.cfg.WatchAlpha || ev.TrendP < t.cfg.WatchAlpha) && gr.growth() > 0:
		gr.verdict = VerdictWatch
	default:
		gr.verdict = ""
	}
}

func (t *Tracker) evidence(gr *group, now time.Time) Evidence {
	age := t.oldAge(gr)
	from := t.attachedAt.Add(time.Duration(age * float64(time.Second)))
	if w := now.Add(-t.cfg.Window); w.After(from) {
		from = w
	}
	ev := Evidence{OverdueAgeSeconds: age, P: 1, TrendP: 1}
	for _, d := range gr.deaths {
		ev.Deaths += d.n
	}
	if now.After(from) {
		ev.WindowSeconds = now.Sub(from).Seconds()
	}
	recent := now.Add(-time.Duration(recentShare * ev.WindowSeconds * float64(time.Second)))
	var first time.Time
	for _, a := range gr.arrivals {
		if a.t.Before(from) {
			continue
		}
		if first.IsZero() {
			first = a.t
		}
		ev.ArrivalSpanSeconds = a.t.Sub(first).Seconds()
		ev.Arrivals += a.n
		ev.ArrivalSnapshots++
		if !a.t.Before(recent) {
			ev.RecentArrivals += a.n
		}
	}
	for _, p := range gr.series {
		if !p.t.Before(from) {
			ev.Points++
		}
	}
	ev.P = analysis.BinomialUpper(float64(ev.Arrivals), float64(ev.Arrivals+ev.Deaths))
	if len(gr.series) >= 3 {
		ev.TrendP = analysis.MannKendallP(gr.counts())
	}
	return ev
}

func (gr *group) counts() []float64 {
	c := make([]float64, len(gr.series))
	for i, p := range gr.series {
		c[i] = float64(p.count)
	}
	return c
}

// growth is the Theil-Sen slope of the member count, per second.
func (gr *group) growth() float64 {
	if len(gr.series) < 2 {
		return 0
	}
	ts := make([]float64, len(gr.series))
	for i, p := range gr.series {
		ts[i] = p.t.Sub(gr.series[0].t).Seconds()
	}
	return analysis.TheilSen(ts, gr.counts())
}

// Site is a source location.
type Site struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

func (s Site) String() string { return fmt.Sprintf("%s (%s:%d)", s.Function, s.File, s.Line) }

func siteOf(f symbolize.Frame) Site { return Site{Function: f.Function, File: f.File, Line: f.Line} }

// Suspect is one group of goroutines: those created by one `go` statement
// and started in one function.
type Suspect struct {
	CreatedBy     Site   `json:"created_by"`     // the `go` statement
	StartFunction string `json:"start_function"` // what the goroutines run
	// WaitReason and Blocked are where most of the group's old goroutines
	// (all, if none is old) are: the runtime's wait reason, or the state
	// ("running", "runnable", "syscall") for those not waiting, and the
	// top user frames of the blocked stack, innermost first.
	WaitReason string   `json:"wait_reason"`
	Blocked    []Site   `json:"blocked"`
	BlockedPCs []uint64 `json:"-"`
	// States counts the group's goroutines by wait reason and blocked
	// frames (the key of the group's finer split).
	States map[string]int `json:"states"`
	Count  int            `json:"count"`
	// Overdue counts members past the overdue age; PreAttach those alive
	// when leakscope attached (age unknown: "before attach").
	Overdue   int `json:"overdue"`
	PreAttach int `json:"pre_attach"`
	// GrowthPerSecond is the Theil-Sen slope of Count over the window.
	GrowthPerSecond float64 `json:"growth_per_second"`
	// MedianAgeSeconds is over the members born since attach (0 if none).
	MedianAgeSeconds float64 `json:"median_age_seconds"`
	// StackBytes is the sum of the members' stack sizes.
	StackBytes uint64 `json:"stack_bytes"`
	// Score ranks suspects: net overdue goroutines per minute.
	Score float64 `json:"score"`
	// HeapSuspects are the heap suspects (their leak-site functions) whose
	// allocation stacks pass through this group's creation site, start
	// function or blocked frames: memory these goroutines likely hold.
	HeapSuspects []string `json:"heap_suspects,omitempty"`
	// Pprof is the cross-check against the target's own goroutine
	// profile; nil when none was attempted.
	Pprof       *PprofCheck `json:"pprof,omitempty"`
	Verdict     string      `json:"verdict"`
	FirstLeakAt time.Time   `json:"first_leak_at,omitzero"`
	Evidence    Evidence    `json:"evidence"`
}

// Summary is a process's goroutines at the last snapshot.
type Summary struct {
	UpdatedAt time.Time `json:"updated_at"`
	// Live counts live goroutines by state (waiting, runnable...).
	Live    map[string]int `json:"live"`
	AllGLen int            `json:"allglen"`
	Dead    int            `json:"dead"`
	// Skipped were not read (over the per-interval cap); Dropped were
	// read but did not validate, Truncated stacks stopped early, by
	// reason; Ungrouped belong to sites beyond the group cap.
	Skipped   int            `json:"skipped"`
	Dropped   map[string]int `json:"dropped"`
	Truncated map[string]int `json:"truncated"`
	Ungrouped int            `json:"ungrouped"`
	Groups    int            `json:"groups"`
	// Tracked counts goroutines being dated.
	Tracked int `json:"tracked"`
}

// Summary describes the last snapshot.
func (t *Tracker) Summary() Summary {
	s := Summary{Live: map[string]int{}, Dropped: map[string]int{}, Truncated: map[string]int{}, Groups: len(t.groups), Tracked: len(t.gs), Ungrouped: t.ungrouped}
	for k, v := range t.live {
		s.Live[k] = v
	}
	if t.last == nil {
		return s
	}
	s.UpdatedAt, s.AllGLen, s.Dead, s.Skipped = t.last.Time, t.last.AllGLen, t.last.Dead, t.last.Skipped
	for k, v := range t.last.Dropped {
		s.Dropped[k] = v
	}
	for k, v := range t.last.Truncated {
		s.Truncated[k] = v
	}
	return s
}

// Suspects ranks the groups with members: `leak` first, then `watch`,
// then by score and count; at most MaxSuspects (with every `leak`).
func (t *Tracker) Suspects() []Suspect {
	var out []Suspect
	now := time.Time{}
	if t.last != nil {
		now = t.last.Time
	}
	for _, gr := range t.groups {
		if gr.count == 0 {
			continue
		}
		out = append(out, t.suspect(gr, now))
	}
	rank := map[string]int{VerdictLeak: 0, VerdictWatch: 1, "": 2}
	slices.SortFunc(out, func(a, b Suspect) int {
		if rank[a.Verdict] != rank[b.Verdict] {
			return rank[a.Verdict] - rank[b.Verdict]
		}
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.CreatedBy.String(), b.CreatedBy.String())
	})
	if len(out) > t.cfg.MaxSuspects {
		n := t.cfg.MaxSuspects
		for n < len(out) && out[n].Verdict == VerdictLeak {
			n++
		}
		out = out[:n]
	}
	return out
}

func (t *Tracker) suspect(gr *group, now time.Time) Suspect {
	ev := t.evidence(gr, now)
	s := Suspect{
		CreatedBy: t.site(gr.gopc), StartFunction: t.startName(gr.startpc), States: map[string]int{},
		Count: gr.count, Overdue: gr.overdue, PreAttach: gr.preAttach, GrowthPerSecond: gr.growth(),
		StackBytes: gr.stackBytes, Verdict: gr.verdict, FirstLeakAt: gr.firstLeakAt, Evidence: ev,
	}
	if ev.WindowSeconds > 0 {
		s.Score = 60 * float64(ev.Arrivals-ev.Deaths) / ev.WindowSeconds
	}
	if len(gr.ages) > 0 {
		s.MedianAgeSeconds = quantile(gr.ages, 0.5)
	}
	var top *state
	for k, st := range gr.states {
		s.States[k] = st.count
		if top == nil || st.old > top.old || (st.old == top.old && st.count > top.count) ||
			(st.old == top.old && st.count == top.count && stateKey(st) < stateKey(top)) {
			top = st
		}
	}
	if top != nil {
		s.WaitReason = top.reason
		for _, f := range top.frames {
			s.Blocked = append(s.Blocked, siteOf(f))
		}
		s.BlockedPCs = top.stack
	}
	return s
}

func stateKey(st *state) string {
	var b strings.Builder
	b.WriteString(st.reason)
	for _, f := range st.frames {
		fmt.Fprintf(&b, "|%s:%d", f.Function, f.Line)
	}
	return b.String()
}

// site is the `go` statement at return address gopc: the innermost frame
// of the call to newproc (gopc-1, like the runtime's "created by").
func (t *Tracker) site(gopc uint64) Site {
	f := t.returnFrames(gopc)
	if len(f) == 0 {
		return Site{Function: fmt.Sprintf("%#x", gopc)}
	}
	return siteOf(f[0])
}

func (t *Tracker) startName(pc uint64) string {
	f := t.sym.Symbolize([]uint64{pc})
	if len(f) == 0 {
		return fmt.Sprintf("%#x", pc)
	}
	return f[len(f)-1].Function
}
