package analysis

import (
	"testing"
	"time"
)

func TestHistoryWindow(t *testing.T) {
	cfg := Config{Window: 100 * time.Second, WindowGC: 10, MaxWindow: 1000 * time.Second}.withDefaults()
	var h history
	// One GC per 10 s observation: the time span binds (11 points).
	for i := range 30 {
		h.add(observation{t: time.Unix(int64(10*i), 0), gc: uint64(i)}, cfg)
	}
	if len(h.obs) != 11 || h.base != 19 {
		t.Fatalf("fast GC: %d obs from %d, want 11 from 19", len(h.obs), h.base)
	}
	// One GC per 50 s: the GC span binds, 500 s, one point per GC.
	var s history
	for i := range 200 {
		s.add(observation{t: time.Unix(int64(10*i), 0), gc: uint64(i / 5)}, cfg)
	}
	if span := s.obs[len(s.obs)-1].t.Sub(s.obs[0].t); span < 450*time.Second || span > 500*time.Second {
		t.Fatalf("slow GC span %v", span)
	}
	if n := len(s.points()); n != 11 {
		t.Fatalf("slow GC: %d points, want one per GC (11)", n)
	}
	// No GC at all: the window never completes, history capped at MaxWindow.
	var z history
	for i := range 300 {
		z.add(observation{t: time.Unix(int64(10*i), 0)}, cfg)
	}
	if span := z.obs[len(z.obs)-1].t.Sub(z.obs[0].t); span != cfg.MaxWindow {
		t.Fatalf("no GC: kept %v, want %v", span, cfg.MaxWindow)
	}
}
