package crosscheck

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/leakscope/leakscope/goroutines"
)

// GoroutineCheck is the cross-check of one target's goroutines with its
// own goroutine profile, for suspects.json. Field names are a contract:
// add, never rename.
type GoroutineCheck struct {
	URL    string `json:"url"`
	Status string `json:"status"` // ok, stale, unavailable, off
	// The latest profile and leakscope's read it is compared with.
	FetchedAt time.Time `json:"fetched_at,omitzero"`
	ReadAt    time.Time `json:"read_at,omitzero"`
	// RuntimeUser and LeakscopeUser count the goroutines outside the
	// runtime (the profile omits system goroutines; leakscope counts
	// those it did not find waiting, whose stacks it does not read, in
	// LeakscopeNotWaiting, which may be either); TotalStatus compares
	// them (agrees, disagrees, unavailable).
	RuntimeTotal int64 `json:"runtime_total"`
	RuntimeUser  int64 `json:"runtime_user"`
	// RuntimeServing counts the goroutines the fetch itself ran in the
	// target (Goroutines.Serving), left out of RuntimeUser.
	RuntimeServing      int64  `json:"runtime_serving"`
	LeakscopeUser       int64  `json:"leakscope_user"`
	LeakscopeNotWaiting int64  `json:"leakscope_not_waiting"`
	TotalStatus         string `json:"total_status"`
	Agreed              int    `json:"agreed"`
	Disagreed           int    `json:"disagreed"`
	Unavailable         int    `json:"unavailable"`
	LastError           string `json:"last_error"`
	Failures            uint64 `json:"failures"`
	// LeakProfile is the runtime's goroutine leak profile: "ok", "off"
	// (not fetched unless GC-forcing fetches are allowed: it runs a GC
	// cycle in the target) or why it is unavailable; RuntimeLeaked counts
	// the goroutines it proved leaked.
	LeakProfile   string `json:"leak_profile"`
	RuntimeLeaked int64  `json:"runtime_leaked"`
}

// GoroutineReading is leakscope's side: its last read of the target.
type GoroutineReading struct {
	At        time.Time
	BlockedIn map[string]int64 // goroutines.Tracker.BlockedIn
	// Lost counts goroutines of the read that are in no count: skipped
	// over the cap, dropped, ungrouped.
	Lost int64
}

// CompareGoroutines fills each suspect's Pprof from the latest profile
// in st (nil st: no endpoint) and returns the target's check. A profile
// fetched more than staleAfter away from the read is not compared.
func CompareGoroutines(st *Status, r GoroutineReading, suspects []goroutines.Suspect, staleAfter time.Duration) GoroutineCheck {
	gc := GoroutineCheck{Status: StatusUnavailable, TotalStatus: goroutines.PprofUnavailable}
	var p *Goroutines
	why := ""
	switch {
	case st == nil:
		gc.Status, why = StatusOff, "no pprof endpoint"
	case st.Goroutines == nil:
		gc.URL, gc.LastError, gc.Failures = st.GoroutineURL, st.GoroutineError, st.GoroutineFailures
		why = "no goroutine profile fetched yet"
		switch {
		case st.GoroutineError != "":
			why = "fetching the goroutine profile failed: " + st.GoroutineError
		case st.Heap == nil && st.LastError != "":
			// It is fetched beside the heap profile, once that is found.
			first, _, _ := strings.Cut(st.LastError, "\n")
			gc.LastError, why = st.LastError, "no pprof endpoint found: "+first
		}
	default:
		gc.URL, gc.LastError, gc.Failures = st.GoroutineURL, st.GoroutineError, st.GoroutineFailures
		gc.Status = StatusOK
		if st.GoroutineError != "" {
			gc.Status = StatusStale
		}
		p = st.Goroutines
		gc.FetchedAt, gc.ReadAt = p.FetchedAt, r.At
		if d := p.FetchedAt.Sub(r.At).Abs(); r.At.IsZero() || d > staleAfter {
			why = fmt.Sprintf("the profile and leakscope's read are %s apart (more than %s)", d.Round(time.Second), staleAfter)
			if r.At.IsZero() {
				why = "leakscope has not read the goroutines yet"
			}
			p = nil
		}
	}
	var leak *Goroutines
	gc.LeakProfile = "off"
	if st != nil && st.GoroutineLeakError != "" {
		gc.LeakProfile = "unavailable: " + st.GoroutineLeakError
	}
	if p != nil && st.GoroutineLeak != nil {
		if d := st.GoroutineLeak.FetchedAt.Sub(r.At).Abs(); d <= staleAfter {
			leak, gc.RuntimeLeaked = st.GoroutineLeak, st.GoroutineLeak.Total
			if st.GoroutineLeakError == "" {
				gc.LeakProfile = "ok"
			}
		}
	}
	if p != nil {
		gc.RuntimeTotal = p.Total
		for fn, n := range p.BlockedIn {
			if !runtimeFunction(fn) {
				gc.RuntimeUser += n
			}
		}
		gc.RuntimeServing = p.Serving
		gc.RuntimeUser -= p.Serving
		for fn, n := range r.BlockedIn {
			switch {
			case fn == "":
				gc.LeakscopeNotWaiting += n
			case !runtimeFunction(fn):
				gc.LeakscopeUser += n
			}
		}
		d := gc.RuntimeUser - gc.LeakscopeUser
		gc.TotalStatus = goroutines.PprofAgrees
		if d < -tolerance(gc.RuntimeUser, gc.LeakscopeUser) || d > gc.LeakscopeNotWaiting+r.Lost+tolerance(gc.RuntimeUser, gc.LeakscopeUser) {
			gc.TotalStatus = goroutines.PprofDisagrees
		}
	}
	for i := range suspects {
		s := &suspects[i]
		s.Pprof = compareGoroutineSuspect(p, why, r, s)
		if leak != nil && s.Pprof.Status != goroutines.PprofUnavailable {
			n := leak.BlockedIn[s.Pprof.Function]
			s.Pprof.RuntimeLeaked = &n
		}
		switch s.Pprof.Status {
		case goroutines.PprofAgrees:
			gc.Agreed++
		case goroutines.PprofDisagrees:
			gc.Disagreed++
		default:
			gc.Unavailable++
		}
	}
	return gc
}

// tolerance is what the two counts may differ by: goroutines that
// started, ended or moved between the two reads (a few, and a few per
// cent), the profile being read while the program runs.
func tolerance(a, b int64) int64 {
	return 2 + int64(math.Ceil(0.05*float64(max(a, b))))
}

func compareGoroutineSuspect(p *Goroutines, why string, r GoroutineReading, s *goroutines.Suspect) *goroutines.PprofCheck {
	pc := &goroutines.PprofCheck{Status: goroutines.PprofUnavailable, Reason: why}
	if len(s.Blocked) > 0 {
		pc.Function = s.Blocked[0].Function
	}
	if p == nil {
		return pc
	}
	if pc.Function == "" {
		pc.Reason = fmt.Sprintf("not waiting (%s): leakscope reads the stacks of waiting goroutines only", s.WaitReason)
		return pc
	}
	if runtimeFunction(pc.Function) {
		pc.Reason = "blocked in the runtime only: one of the runtime's own goroutines, which its profile leaves out"
		return pc
	}
	rn, ok := p.BlockedIn[pc.Function]
	if !ok && p.Dropped > 0 {
		pc.Reason = fmt.Sprintf("the profile has more blocking functions than the cap; %d goroutines not counted", p.Dropped)
		return pc
	}
	pc.RuntimeCount, pc.LeakscopeCount = rn, r.BlockedIn[pc.Function]
	// A growing group moves the counts between the two moments.
	dt := p.FetchedAt.Sub(r.At).Abs().Seconds()
	tol := tolerance(rn, pc.LeakscopeCount) + int64(math.Ceil(math.Abs(s.GrowthPerSecond)*dt))
	d := rn - pc.LeakscopeCount
	switch {
	case d > tol && r.Lost > 0:
		pc.Status = goroutines.PprofDisagrees
		pc.Reason = fmt.Sprintf("the runtime counts %d more: leakscope's read left %d goroutines out (over the cap, dropped or ungrouped)", d, r.Lost)
	case d > tol:
		pc.Status = goroutines.PprofDisagrees
		pc.Reason = fmt.Sprintf("the runtime counts %d more: leakscope misplaced some (a stack it could not unwind, one that ran while read) or they started between the reads, %.1f s apart", d, dt)
	case -d > tol:
		pc.Status = goroutines.PprofDisagrees
		pc.Reason = fmt.Sprintf("leakscope counts %d more: goroutines ended or moved between the reads, %.1f s apart, or leakscope kept a stale place for goroutines that ran", -d, dt)
	default:
		pc.Status, pc.Reason = goroutines.PprofAgrees, ""
	}
	return pc
}

// runtimeFunction: a function of the runtime, as BlockedFunction skips.
func runtimeFunction(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/")
}
