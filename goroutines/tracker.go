package goroutines

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/leakscope/leakscope/symbolize"
)

// TrackerConfig tunes the goroutine-leak verdict. Zero fields take the
// defaults.
type TrackerConfig struct {
	// Window is the sliding evidence window (default 5m).
	Window time.Duration
	// MinWindow is the least time over which goroutines could have become
	// overdue before a `leak` verdict (default 50s): no verdict from one
	// snapshot or a short burst. It matches the heap detector's.
	MinWindow time.Duration
	// MinOldAge is the least age for a goroutine to be overdue (default
	// 20s); a group whose members are seen to end later than that uses
	// overdueFactor times their usual lifetime instead.
	MinOldAge time.Duration
	// Alpha is the significance a `leak` needs (default 0.01: seven
	// overdue goroutines and no overdue one ending); WatchAlpha what
	// `watch` needs (default 0.05).
	Alpha, WatchAlpha float64
	// MaxGroups caps the groups tracked (default 2000); goroutines of
	// sites beyond it are counted in Summary.Ungrouped.
	MaxGroups int
	// MaxSuspects caps Suspects (default 20).
	MaxSuspects int
	// BlockedFrames is how many of the user frames where a goroutine is
	// blocked tell its state apart (default 3).
	BlockedFrames int
}

// Defaults.
const (
	DefaultWindow        = 5 * time.Minute
	DefaultMinWindow     = 50 * time.Second
	DefaultMinOldAge     = 20 * time.Second
	DefaultAlpha         = 0.01
	DefaultWatchAlpha    = 0.05
	DefaultMaxGroups     = 2000
	DefaultMaxSuspects   = 20
	DefaultBlockedFrames = 3

	// overdueFactor: a goroutine is overdue at this many times the age by
	// which its group's goroutines usually (90th percentile) end.
	overdueFactor = 4
	// minLeakPoints: snapshots in the window a `leak` needs.
	minLeakPoints = 6
	// minArrivalSnapshots: distinct snapshots in which goroutines became
	// overdue: one burst (a pool filling, boot) is one step, not a trend.
	minArrivalSnapshots = 3
	// recentShare: goroutines must still become overdue in this most
	// recent share of the window (a leak that stopped is not going on).
	recentShare = 1.0 / 3
	// maxLifetimes kept per group for its usual lifetime.
	maxLifetimes = 256
	// maxFrameCache bounds the memo of symbolized addresses.
	maxFrameCache = 1 << 16
)

func (c TrackerConfig) withDefaults() TrackerConfig {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Window, DefaultWindow)
	def(&c.MinWindow, DefaultMinWindow)
	def(&c.MinOldAge, DefaultMinOldAge)
	if c.Alpha <= 0 {
		c.Alpha = DefaultAlpha
	}
	if c.WatchAlpha <= 0 {
		c.WatchAlpha = DefaultWatchAlpha
	}
	if c.MaxGroups <= 0 {
		c.MaxGroups = DefaultMaxGroups
	}
	if c.MaxSuspects <= 0 {
		c.MaxSuspects = DefaultMaxSuspects
	}
	if c.BlockedFrames <= 0 {
		c.BlockedFrames = DefaultBlockedFrames
	}
	return c
}

// Symbolizer turns run-time addresses into frames; every address is
// taken as a return address except the first (symbolize.Process).
type Symbolizer interface {
	Symbolize(pcs []uint64) []symbolize.Frame
}

// Tracker follows one process's goroutines across snapshots: it dates
// each by the first snapshot that saw it (a goid is never reused), groups
// them by origin (the `go` statement and the start function) and judges
// each group. Not safe for concurrent use.
type Tracker struct {
	cfg        TrackerConfig
	layout     *Layout
	sym        Symbolizer
	attachedAt time.Time
	last       *Snapshot // without its Goroutines
	live       map[string]int
	observed   uint32 // snapshots observed
	// The goroutines seen alive, side by side (a million of them are one
	// object to the garbage collector, not a million), and their index by
	// goid.
	gs        []tracked
	byGoid    goidIndex
	groups    map[origin]*group
	frames    map[uint64][]symbolize.Frame
	states    map[stateCacheKey]stateCacheVal
	ungrouped int
}

// tracked is one goroutine seen alive.
type tracked struct {
	id        uint64
	born      time.Duration // first seen, after attachedAt
	seenIn    uint32        // the last snapshot (Tracker.observed) it was in
	missed    int32         // snapshots it was missing from that could not prove it ended
	preAttach bool          // alive at the first snapshot: age unknown
	overdue   bool
	g         *group
	state     *state // where it waited at the last read (key, reason, frames)
	sig       stateCacheKey
}

// age is how long tr has been seen alive at now.
func (t *Tracker) age(tr *tracked, now time.Time) float64 {
	return (now.Sub(t.attachedAt) - tr.born).Seconds()
}

// origin identifies a group: the `go` statement (its return address) and
// the function the goroutines start in.
type origin struct{ gopc, startpc uint64 }

// group is every goroutine of one origin.
type group struct {
	origin
	series    []point   // one per snapshot, oldest first, within the window
	arrivals  []event   // goroutines of the group that became overdue, per snapshot
	deaths    []event   // overdue ones that ended, per snapshot
	lifetimes []float64 // seconds, of goroutines born after attach that ended
	// This snapshot's members.
	count, overdue, preAttach int
	stackBytes                uint64
	ages                      []float64
	states                    map[string]*state
	// lastState is where the last member counted in states waits, and its
	// count there: members side by side mostly wait at one place.
	lastState, lastCount *state
	verdict              string
	firstLeakAt          time.Time
}

// event counts what happened at one snapshot: a group holds one per
// snapshot at most, however many goroutines it has.
type event struct {
	t time.Time
	n int
}

// addEvent counts one at time t.
func addEvent(ev []event, t time.Time) []event {
	if len(ev) > 0 && ev[len(ev)-1].t.Equal(t) {
		ev[len(ev)-1].n++
		return ev
	}
	return append(ev, event{t, 1})
}

type point struct {
	t              time.Time
	count, overdue int
}

// state is where some of a group's goroutines wait.
type state struct {
	key    string
	reason string
	frames []symbolize.Frame // user frames, innermost first
	stack  []uint64          // one member's full stack
	count  int
	old    int // of them overdue or pre-attach
}

// NewTracker returns a Tracker for goroutines read with layout, whose
// addresses sym symbolizes.
func NewTracker(cfg TrackerConfig, layout *Layout, sym Symbolizer) *Tracker {
	return &Tracker{cfg: cfg.withDefaults(), layout: layout, sym: sym, live: map[string]int{},
		groups: map[origin]*group{}, frames: map[uint64][]symbolize.Frame{}, states: map[stateCacheKey]stateCacheVal{}}
}

// Observe adds a snapshot: dates new goroutines, ends missing ones,
// updates every group's series and verdict.
func (t *Tracker) Observe(s *Snapshot) {
	first := t.last == nil
	if first {
		t.attachedAt = s.Time
	}
	complete := s.Skipped == 0 && s.dropped() == 0
	for _, gr := range t.groups {
		gr.resetMembers()
	}
	t.ungrouped = 0
	t.observed++
	t.byGoid.reserve(len(s.Goroutines))
	if cap(t.gs) < len(s.Goroutines) {
		t.gs = slices.Grow(t.gs, len(s.Goroutines)+len(s.Goroutines)/8-len(t.gs))
	}
	clear(t.live)
	for i := range s.Goroutines {
		g := &s.Goroutines[i]
		t.live[t.layout.StatusName(g.Status)]++
		t.observeG(g, s.Time, first)
	}
	t.endMissing(s.Time, complete)
	for o, gr := range t.groups {
		gr.series = append(gr.series, point{s.Time, gr.count, gr.overdue})
		gr.trim(s.Time.Add(-t.cfg.Window))
		if gr.count == 0 && len(gr.arrivals) == 0 && len(gr.deaths) == 0 && gr.allZero() {
			delete(t.groups, o)
			continue
		}
		t.judge(gr, s.Time)
	}
	last := *s
	last.Goroutines = nil // not kept: the next read allocates its own
	t.last = &last
}

func (s *Snapshot) dropped() int {
	n := 0
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

func (gr *group) resetMembers() {
	gr.count, gr.overdue, gr.preAttach, gr.stackBytes = 0, 0, 0, 0
	gr.ages = gr.ages[:0]
	gr.states = map[string]*state{}
	gr.lastState, gr.lastCount = nil, nil
}

func (gr *group) allZero() bool {
	for _, p := range gr.series {
		if p.count != 0 {
			return false
		}
	}
	return true
}

func (gr *group) trim(from time.Time) {
	i := sort.Search(len(gr.series), func(i int) bool { return !gr.series[i].t.Before(from) })
	gr.series = gr.series[i:]
	gr.arrivals = dropBefore(gr.arrivals, from)
	gr.deaths = dropBefore(gr.deaths, from)
}

func dropBefore(ev []event, from time.Time) []event {
	i := sort.Search(len(ev), func(i int) bool { return !ev[i].t.Before(from) })
	return ev[i:]
}

func (t *Tracker) observeG(g *G, now time.Time, first bool) {
	k, ok := t.byGoid.get(g.ID)
	if !ok {
		o := origin{g.GoPC, g.StartPC}
		gr := t.groups[o]
		if gr == nil {
			if len(t.groups) >= t.cfg.MaxGroups {
				t.ungrouped++
				return
			}
			gr = &group{origin: o, states: map[string]*state{}}
			t.groups[o] = gr
		}
		k = int32(len(t.gs))
		t.gs = append(t.gs, tracked{id: g.ID, born: now.Sub(t.attachedAt), preAttach: first, g: gr})
		t.byGoid.put(g.ID, k)
	}
	tr := &t.gs[k]
	tr.seenIn, tr.missed = t.observed, 0
	gr := tr.g
	if !tr.preAttach && !tr.overdue && t.age(tr, now) >= t.oldAge(gr) {
		tr.overdue = true
		gr.arrivals = addEvent(gr.arrivals, now)
	}
	gr.count++
	gr.stackBytes += g.StackBytes()
	if tr.preAttach {
		gr.preAttach++
	} else {
		gr.ages = append(gr.ages, t.age(tr, now))
	}
	if tr.overdue {
		gr.overdue++
	}
	t.addState(gr, tr, g, tr.overdue || tr.preAttach)
}

// addState files g under its wait reason and the top user frames where
// it is blocked ("running" and the like for goroutines not waiting).
func (t *Tracker) addState(gr *group, tr *tracked, g *G, old bool) {
	// A goroutine still where it was at the last read (same status, wait
	// reason and stack) keeps its state without looking it up.
	sig := stateKeyOf(g)
	if tr.state == nil || tr.sig != sig {
		tr.state, tr.sig = t.stateOf(g), sig
	}
	st := gr.lastCount
	if gr.lastState != tr.state {
		if st = gr.states[tr.state.key]; st == nil {
			st = &state{key: tr.state.key, reason: tr.state.reason, frames: tr.state.frames, stack: g.Stack}
			gr.states[st.key] = st
		}
		gr.lastState, gr.lastCount = tr.state, st
	}
	st.count++
	if old {
		st.old++
	}
}

// stateCacheKey: goroutines with the same status, wait reason and stack
// wait in the same state. The reader hands out one copy of each distinct
// stack, so the stack is known by where it is; the cache holds the stack,
// which keeps that address from being reused for another.
type stateCacheKey struct {
	status uint32
	reason uint8
	stack  *uint64
	depth  int
}

func stateKeyOf(g *G) stateCacheKey {
	return stateCacheKey{g.Status, g.WaitReason, unsafe.SliceData(g.Stack), len(g.Stack)}
}

type stateCacheVal struct {
	stack []uint64
	st    *state
}

// maxStateCache bounds the state cache.
const maxStateCache = 1 << 16

// stateOf works out g's wait reason and blocked frames, once per distinct
// stack.
func (t *Tracker) stateOf(g *G) *state {
	key := stateKeyOf(g)
	if v, ok := t.states[key]; ok {
		return v.st
	}
	st := t.newState(g)
	if len(t.states) >= maxStateCache {
		clear(t.states)
	}
	t.states[key] = stateCacheVal{g.Stack, st}
	return st
}

func (t *Tracker) newState(g *G) *state {
	st := &state{reason: t.layout.StatusName(g.Status)}
	if g.Stack != nil {
		st.reason = t.layout.WaitReasonName(g.WaitReason)
		st.frames = userFrames(t.symbolizeStack(g.Stack), t.cfg.BlockedFrames)
	}
	var key strings.Builder
	key.WriteString(st.reason)
	for _, f := range st.frames {
		fmt.Fprintf(&key, "|%s:%d", f.Function, f.Line)
	}
	st.key = key.String()
	return st
}

// userFrames drops the runtime's frames at the top of a blocked stack
// (gopark, chansend...) and keeps the next n.
func userFrames(frames []symbolize.Frame, n int) []symbolize.Frame {
	i := 0
	for i < len(frames) && (strings.HasPrefix(frames[i].Function, "runtime.") || strings.HasPrefix(frames[i].Function, "internal/")) {
		i++
	}
	if i == len(frames) { // a runtime goroutine: keep its frames
		i = 0
	}
	frames = frames[i:]
	var out []symbolize.Frame
	for _, f := range frames {
		if len(out) == n || f.Function == "runtime.goexit" {
			break
		}
		out = append(out, f)
	}
	return out
}

// symbolizeStack symbolizes a blocked stack; every entry is a return
// address (sched.pc too: gopark resumes after its call to mcall).
func (t *Tracker) symbolizeStack(pcs []uint64) []symbolize.Frame {
	var out []symbolize.Frame
	for _, pc := range pcs {
		out = append(out, t.returnFrames(pc)...)
	}
	return out
}

func (t *Tracker) returnFrames(pc uint64) []symbolize.Frame {
	if f, ok := t.frames[pc]; ok {
		return f
	}
	f := t.sym.Symbolize([]uint64{0, pc})[1:] // index 0 is looked up as is
	if len(t.frames) < maxFrameCache {
		t.frames[pc] = f
	}
	return f
}

// endMissing ends goroutines not in this snapshot. A snapshot that
// skipped or dropped some cannot prove one ended: such a goroutine ends
// only when missing from a complete snapshot or from two in a row.
func (t *Tracker) endMissing(now time.Time, complete bool) {
	for i := 0; i < len(t.gs); {
		tr := &t.gs[i]
		if tr.seenIn == t.observed {
			i++
			continue
		}
		tr.missed++
		if !complete && tr.missed < 2 {
			i++
			continue
		}
		gr := tr.g
		if !tr.preAttach {
			gr.lifetimes = append(gr.lifetimes, t.age(tr, now))
			if len(gr.lifetimes) > maxLifetimes {
				gr.lifetimes = gr.lifetimes[len(gr.lifetimes)-maxLifetimes:]
			}
		}
		// A pre-attach goroutine is known to be overdue once it has been
		// seen for the overdue age; before that its end says nothing.
		if tr.overdue || (tr.preAttach && t.age(tr, now) >= t.oldAge(gr)) {
			gr.deaths = addEvent(gr.deaths, now)
		}
		t.forget(i)
	}
	if cap(t.gs) > 1024 && cap(t.gs) > 4*len(t.gs) {
		t.gs = slices.Clip(slices.Clone(t.gs)) // let a drained burst's memory go
	}
	t.byGoid.shrink()
}

// forget removes the goroutine at gs[i], moving the last one there.
func (t *Tracker) forget(i int) {
	t.byGoid.del(t.gs[i].id)
	last := len(t.gs) - 1
	if i != last {
		t.gs[i] = t.gs[last]
		t.byGoid.put(t.gs[i].id, int32(i))
	}
	t.gs[last] = tracked{}
	t.gs = t.gs[:last]
}

// oldAge is the age in seconds at which a goroutine of gr is overdue.
func (t *Tracker) oldAge(gr *group) float64 {
	a := t.cfg.MinOldAge.Seconds()
	if len(gr.lifetimes) > 0 {
		a = math.Max(a, overdueFactor*quantile(gr.lifetimes, 0.9))
	}
	return a
}

func quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}
