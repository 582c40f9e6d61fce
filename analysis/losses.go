package analysis

import (
	"github.com/leakscope/leakscope/snapshot"
)

// FreeHidingLosses are the tracer's loss reasons after which a live
// sampled object may be one whose free was never seen, so it would look
// overdue forever:
//   - target_read_failed: a free whose special kind could not be read
//     was dropped;
//   - address_reused: an object's free was missed (it is accounted only
//     once its address is reused, which may never happen);
//   - live_map_full: new samples go untracked while the old ones stay,
//     so the live population is biased toward survivors;
//   - stats_map_full: samples and frees go uncounted, so the freed-age
//     histogram that sets the overdue age is incomplete.
//
// While one of them rises within the evidence window, no suspect is
// judged `leak` (at most `watch`) and the target is reported incomplete.
var FreeHidingLosses = [...]string{snapshot.LossTargetReadFailed, snapshot.LossAddressReused, snapshot.LossLiveMapFull, snapshot.LossStatsMapFull}

// hiddenFrees is one snapshot's cumulative FreeHidingLosses.
type hiddenFrees [len(FreeHidingLosses)]uint64

func hiddenFreesOf(s *snapshot.Snapshot) hiddenFrees {
	var h hiddenFrees
	for i, name := range FreeHidingLosses {
		h[i] = s.Losses[name]
	}
	return h
}

// lossesInWindow returns the FreeHidingLosses that rose within the
// history window (since attach, when it starts there: every count was
// zero then).
func (h *history) lossesInWindow() []string {
	if len(h.obs) == 0 {
		return nil
	}
	last := h.obs[len(h.obs)-1].hidden
	var first hiddenFrees
	if !h.sinceAttach {
		first = h.obs[0].hidden
	}
	var out []string
	for i, name := range FreeHidingLosses {
		if last[i] > first[i] {
			out = append(out, name)
		}
	}
	return out
}

// Incomplete returns the losses (FreeHidingLosses) that rose within the
// current evidence window: while it is not empty, frees may be missing and
// no suspect is judged `leak`.
func (t *Target) Incomplete() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hist.lossesInWindow()
}
