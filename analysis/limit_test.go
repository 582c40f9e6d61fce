package analysis

import (
	"math"
	"testing"
	"time"

	"github.com/leakscope/leakscope/snapshot"
)

func TestDetectionLimit(t *testing.T) {
	r := int64(512 << 10)
	l60, l300 := DetectionLimit(r, time.Minute), DetectionLimit(r, 5*time.Minute)
	// 9.15 samples of 512 KiB over the 50 s overdue span: ~94 KiB/s,
	// the README's "about 90 KiB/s within 60 s".
	if math.Abs(l60-9.15*float64(r)/50) > 1 {
		t.Errorf("60 s at 512 KiB: %.0f B/s, want %.0f", l60, 9.15*float64(r)/50)
	}
	if !(l300 < l60/5) {
		t.Errorf("5 min limit %.0f not well under the 60 s one %.0f", l300, l60)
	}
	if got := DetectionLimit(16*r, time.Minute); math.Abs(got-16*l60) > 1 {
		t.Errorf("at 16x the rate: %.0f, want 16x %.0f", got, l60)
	}
	if !math.IsInf(DetectionLimit(r, 30*time.Second), 1) || !math.IsInf(DetectionLimit(0, time.Hour), 1) {
		t.Error("a window shorter than the detector's least, or sampling off, must name no limit")
	}
}

// Rate-weighted snapshots: the tracer's per-sample estimates replace the
// scaling at one rate, and the evidence restarts only when the rate the
// counts are at (RateRef) moves, not at every change of the rate.
func TestRateWeightedSnapshots(t *testing.T) {
	tg := NewTarget(Config{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := func(i int, rate, ref int64, est float64) *snapshot.Snapshot {
		st := &snapshot.StackStats{StackID: 1, PCs: []uint64{0x1000}, Allocs: 20, AllocBytes: 20 * 1024,
			LiveObjects: 10, LiveBytes: 10 * 1024, LiveAges: make([]uint64, 64),
			LiveEstObjects: est, LiveEstBytes: est * 1024, AllocEstObjects: 2 * est, AllocEstBytes: 2 * est * 1024}
		st.LiveAges[3] = 10
		return &snapshot.Snapshot{PID: 1, Time: t0.Add(time.Duration(i) * 10 * time.Second), GCCycles: uint64(10 * i),
			MemProfileRate: rate, RateRef: ref, Stacks: map[int32]*snapshot.StackStats{1: st}}
	}
	const kib512, mib4 = 512 << 10, 4 << 20
	steps := []struct {
		s       *snapshot.Snapshot
		history int // observations kept after Add
	}{
		{snap(1, kib512, 0, 0), 1},
		{snap(2, kib512, 0, 0), 2},
		{snap(3, mib4, mib4, 30000), 1},   // counts now at 4 MiB: restart
		{snap(4, kib512, mib4, 30000), 2}, // rate lowered, counts still at 4 MiB
		{snap(5, kib512, kib512, 30000), 1},
	}
	for i, st := range steps {
		tg.Add(st.s, nil)
		if got := len(tg.hist.obs); got != st.history {
			t.Errorf("step %d: %d observations in the window, want %d", i+1, got, st.history)
		}
	}
	stacks := tg.Stacks()
	if len(stacks) != 1 || stacks[0].LiveObjects != 30000 || stacks[0].LiveBytes != 30000*1024 || stacks[0].AllocObjects != 60000 {
		t.Errorf("weighted stack: %+v, want the tracer's estimates (30000 live, 60000 allocated)", stacks)
	}
	// Unweighted, the one rate scales: 10 samples of 1 KiB at 512 KiB.
	tg2 := NewTarget(Config{})
	tg2.Add(snap(1, kib512, 0, 30000), nil)
	if got, want := tg2.Stacks()[0].LiveObjects, int64(10*snapshot.SampleWeight(1024, kib512)); got != want {
		t.Errorf("unweighted stack: %d live objects, want %d", got, want)
	}
}
