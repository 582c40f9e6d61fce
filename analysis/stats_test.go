package analysis

import (
	"math"
	"testing"
)

func TestMannKendall(t *testing.T) {
	cases := []struct {
		x    []float64
		s    int64
		z, p float64
	}{
		// var = 5*4*15/18 = 16.667; z = (10-1)/sqrt(var)
		{[]float64{1, 2, 3, 4, 5}, 10, 2.2045, 0.01374},
		// two tie groups of 2: var = (300 - 2*18)/18 = 14.667
		{[]float64{1, 1, 2, 2, 3}, 8, 1.8278, 0.03379},
		{[]float64{5, 4, 3, 2, 1}, -10, -2.2045, 0.98626},
		{[]float64{3, 3, 3, 3}, 0, 0, 1},
	}
	for _, c := range cases {
		r := mannKendall(c.x)
		if r.S != c.s || math.Abs(r.Z-c.z) > 1e-3 || math.Abs(r.P-c.p) > 1e-4 {
			t.Errorf("mannKendall(%v) = %+v, want S=%d Z=%.4f P=%.5f", c.x, r, c.s, c.z, c.p)
		}
	}
}

func TestTheilSenIgnoresOutliers(t *testing.T) {
	var ts, ys []float64
	for i := range 20 {
		ts = append(ts, float64(i))
		ys = append(ys, 2*float64(i)+1)
	}
	ys[7], ys[15] = 1e9, -1e9
	if got := theilSen(ts, ys); got != 2 {
		t.Fatalf("theilSen = %v, want 2", got)
	}
}

func TestWilsonUpper(t *testing.T) {
	// 0 of 10 at z=1.645: (z²/2n + z*sqrt(z²/4n²)) / (1 + z²/n)
	if got := wilsonUpper(0, 10, 1.645); math.Abs(got-0.2130) > 1e-3 {
		t.Fatalf("wilsonUpper(0,10) = %v, want 0.213", got)
	}
	if got := wilsonUpper(5, 10, 1.645); got <= 0.5 || got >= 1 {
		t.Fatalf("wilsonUpper(5,10) = %v, want in (0.5, 1)", got)
	}
}

func TestScale(t *testing.T) {
	// Same formula as runtime/pprof scaleHeapSample.
	count, bytes, rate := uint64(10), uint64(10*1024), int64(512*1024)
	f := 1 / (1 - math.Exp(-1024.0/float64(rate)))
	c, b := scaled(count, bytes, rate)
	if c != int64(10*f) || b != int64(10*1024*f) {
		t.Fatalf("scaled = %d, %d; want %d, %d", c, b, int64(10*f), int64(10*1024*f))
	}
	if c, b := scaled(3, 300, 1); c != 3 || b != 300 {
		t.Fatalf("rate 1 must not scale: %d %d", c, b)
	}
	if c, b := scaled(0, 0, 512*1024); c != 0 || b != 0 {
		t.Fatalf("empty: %d %d", c, b)
	}
}
