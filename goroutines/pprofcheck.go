package goroutines

// Statuses of PprofCheck.
const (
	PprofAgrees      = "agrees"
	PprofDisagrees   = "disagrees"
	PprofUnavailable = "unavailable"
)

// PprofCheck compares one suspect with the target's own goroutine profile
// (/debug/pprof/goroutine). It is data only; package crosscheck fills it.
type PprofCheck struct {
	// Status is agrees, disagrees or unavailable; Reason says why.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Function is where the suspect's goroutines are blocked (the
	// innermost frame of Blocked); the counts are of every goroutine
	// blocked there, whatever its group, as the runtime's profile has no
	// creation sites: the runtime's, and leakscope's at about the same
	// moment.
	Function       string `json:"function"`
	RuntimeCount   int64  `json:"runtime_count"`
	LeakscopeCount int64  `json:"leakscope_count"`
	// RuntimeLeaked counts the goroutines blocked there that the
	// runtime's own leak detector (/debug/pprof/goroutineleak) proved
	// leaked: blocked on channels or sync primitives nothing reachable can
	// wake. Nil when that profile was not fetched. It sees no goroutine
	// blocked in I/O, a timer or on a reachable channel, so 0 does not
	// contradict a leak verdict.
	RuntimeLeaked *int64 `json:"runtime_leaked,omitempty"`
}

// BlockedIn counts the goroutines of the last snapshot by the innermost
// of their blocked frames ("" for those not waiting, whose stacks are not
// read). Goroutines beyond the group cap are not counted
// (Summary.Ungrouped).
func (t *Tracker) BlockedIn() map[string]int64 {
	out := map[string]int64{}
	for _, gr := range t.groups {
		for _, st := range gr.states {
			fn := ""
			if len(st.frames) > 0 {
				fn = st.frames[0].Function
			}
			out[fn] += int64(st.count)
		}
	}
	return out
}
