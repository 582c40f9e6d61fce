package analysis

import (
	"math"
	"testing"

	"github.com/leakscope/leakscope/snapshot"
)

func TestAgeHist(t *testing.T) {
	var h ageHist
	h.add(&snapshot.StackStats{LiveAges: []uint64{1, 1, 0, 3}})
	h.add(&snapshot.StackStats{LiveAges: make([]uint64, 100)}) // longer than 64: capped
	if got := h.liveAtLeast(2); got != 3 {
		t.Fatalf("liveAtLeast(2) = %d", got)
	}
	if got := h.medianLive(); got != 3 {
		t.Fatalf("median of 0,1,3,3,3 = %v", got)
	}
	h.live[0]++ // 0,0,1,3,3,3: median (1+3)/2
	if got := h.medianLive(); got != 2 {
		t.Fatalf("median of 0,0,1,3,3,3 = %v", got)
	}
	if got := h.ageSum(); got != 10 {
		t.Fatalf("ageSum = %d", got)
	}
}

func TestUsualFreeAge(t *testing.T) {
	k := 2
	var h ageHist
	if got := h.usualFreeAge(k); got != 2 {
		t.Fatalf("no frees: %v, want k", got)
	}
	// Churn freed young only: nothing was ever freed old, so q = k.
	h.freed[0], h.freed[1] = 1000, 500
	if got := h.usualFreeAge(k); got != 2 {
		t.Fatalf("young frees only: %v, want k", got)
	}
	// 100 old frees in [8,16): the 95% quantile is inside, at 8+0.95*8.
	h.freed[4] = 100
	if got := h.usualFreeAge(k); math.Abs(got-15.6) > 1e-9 {
		t.Fatalf("q = %v, want 15.6", got)
	}
	if a, ok := overdueAge(15.6, k); !ok || a != 16 {
		t.Fatalf("overdueAge(15.6) = %d %v, want 16", a, ok)
	}
	if a, ok := overdueAge(50, k); !ok || a != 63 {
		t.Fatalf("overdueAge(50) = %d %v, want the saturated slot", a, ok)
	}
	if _, ok := overdueAge(100, k); ok {
		t.Fatal("overdueAge(100) resolved beyond the saturated slot")
	}
	// Freed in the last, unbounded bucket: no usual age.
	h.freed[4], h.freed[snapshot.AgeBuckets-1] = 0, 100
	if got := h.usualFreeAge(k); !math.IsInf(got, 1) {
		t.Fatalf("unbounded: %v", got)
	}
	// Split of a bucket straddling k=3: [2,4) counts half.
	var s ageHist
	s.freed[2] = 10
	if got := s.freedAtLeast(3); got != 5 {
		t.Fatalf("freedAtLeast(3) = %v, want 5", got)
	}
}
