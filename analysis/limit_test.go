package analysis

import (
	"math"
	"testing"
	"time"
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
