package monitor

import (
	"errors"
	"testing"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/snapshot"
)

// TestRetainedByUnavailable: when the heap cannot be read, every leak
// suspect says why and a watch suspect carries nothing; a fresh earlier
// result is reused, not searched again, and labels its stacks' samples.
func TestRetainedByUnavailable(t *testing.T) {
	tg := &target{last: &snapshot.Snapshot{}, ret: &retentionWatch{unavailable: "no heap layout for this Go release: go1.18/amd64",
		found: map[string]*analysis.Retention{}, rootOf: map[int32]string{}, refresh: time.Minute}}
	sus := []analysis.Suspect{{Function: "main.leak", Verdict: analysis.VerdictLeak, StackIDs: []int32{1}}, {Function: "main.grow", Verdict: analysis.VerdictWatch}}
	tg.retainedBy(sus)
	if r := sus[0].RetainedBy; r == nil || r.Status != analysis.RetentionUnavailable || r.Reason != tg.ret.unavailable {
		t.Errorf("leak suspect: %+v", r)
	}
	if sus[1].RetainedBy != nil {
		t.Errorf("watch suspect searched: %+v", sus[1].RetainedBy)
	}

	// Readable heap, a fresh result: reused as is (no searcher needed).
	tg.ret.unavailable = ""
	fresh := &analysis.Retention{Status: analysis.RetentionFound, At: time.Now(),
		Paths: []analysis.RetentionPath{{Root: "main.sessions", Summary: "main.sessions (global)", Samples: 2}}}
	tg.ret.found[suspectKey(&sus[0])] = fresh
	sus[0].RetainedBy = nil
	tg.retainedBy(sus)
	if sus[0].RetainedBy != fresh {
		t.Errorf("fresh result not reused: %+v", sus[0].RetainedBy)
	}
	tg.ret.rootOf[1] = fresh.Paths[0].Summary
	stacks := tg.labelRetention([]analysis.Stack{{StackIDs: []int32{1}}, {StackIDs: []int32{2}}})
	if stacks[0].RetainedBy != "main.sessions (global)" || stacks[1].RetainedBy != "" {
		t.Errorf("labels %q, %q", stacks[0].RetainedBy, stacks[1].RetainedBy)
	}
}

// TestSearchOnDemandRefusals: an on-demand search asks for a suspect of
// the latest report (any verdict); an unknown one is refused, a target
// whose heap cannot be read says why, and a second search within
// OnDemandGap is refused with the time left.
func TestSearchOnDemandRefusals(t *testing.T) {
	tg := &target{last: &snapshot.Snapshot{}, ret: &retentionWatch{unavailable: "no heap layout for this Go release: go1.18/amd64",
		found: map[string]*analysis.Retention{}, rootOf: map[int32]string{}, refresh: time.Minute}}
	tg.retainedBy([]analysis.Suspect{{Function: "main.grow", Verdict: analysis.VerdictWatch}})
	now := time.Now()
	if j, _, _, err := tg.onDemandJob("main.other", now); j != nil || !errors.Is(err, ErrUnknownSuspect) {
		t.Errorf("unknown suspect: %v", err)
	}
	j, r, wait, err := tg.onDemandJob("main.grow", now)
	if j != nil || err != nil || wait != 0 || r == nil || r.Status != analysis.RetentionUnavailable || r.Reason != tg.ret.unavailable {
		t.Errorf("unreadable heap: %+v, wait %v, %v", r, wait, err)
	}
	tg.ret.lastOnDemand = now.Add(-3 * time.Second)
	if j, _, wait, err := tg.onDemandJob("main.grow", now); j != nil || err != nil || wait != OnDemandGap-3*time.Second {
		t.Errorf("too soon: wait %v, %v; want %v", wait, err, OnDemandGap-3*time.Second)
	}
	if (&TooSoonError{RetryAfter: wait}).Unwrap() != ErrTooSoon {
		t.Error("TooSoonError does not unwrap to ErrTooSoon")
	}
}
