package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
)

// series builds a full window of 61 points, 10 s apart, 2 GC cycles each,
// from f (sampled old objects at time t, s), with overdue = overdue(t).
func series(f, overdue func(t float64) float64) window {
	w := window{spanSeconds: 600, spanGC: 120}
	for i := range 61 {
		t := float64(i * 10)
		n := math.Round(f(t))
		w.t = append(w.t, t)
		w.oldCount = append(w.oldCount, n)
		w.old = append(w.old, n*512*1024) // each sample stands for ~rate bytes
		if overdue != nil {
			w.overdueT = append(w.overdueT, t)
			w.overdue = append(w.overdue, math.Round(overdue(t)))
		}
	}
	return w
}

func TestAssessSeries(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	noise := func(sd float64) float64 { return sd * r.NormFloat64() }
	cfg := Config{}.withDefaults()
	id := func(f func(float64) float64) func(float64) float64 { return f }
	cases := []struct {
		name    string
		f       func(float64) float64
		overdue func(float64) float64 // nil: same as f
		want    Verdict
	}{
		{"linear", func(t float64) float64 { return t / 10 }, nil, VerdictLeak},
		{"linear noisy", func(t float64) float64 { return 20 + t/20 + noise(3) }, nil, VerdictLeak},
		{"flat", func(float64) float64 { return 40 }, nil, ""},
		{"flat noisy", func(float64) float64 { return 40 + noise(3) }, nil, ""},
		{"warm-up then flat", func(t float64) float64 { return math.Min(t, 200) / 2 }, nil, VerdictWatch},
		{"step", func(t float64) float64 {
			if t < 300 {
				return 10
			}
			return 200
		}, nil, VerdictWatch},
		{"growing but young", id(func(t float64) float64 { return t / 10 }),
			func(float64) float64 { return 3 }, VerdictWatch},
		{"decreasing", func(t float64) float64 { return 100 - t/10 }, nil, ""},
	}
	for _, c := range cases {
		o := c.overdue
		if o == nil {
			o = c.f
		}
		w := series(c.f, o)
		v, ev := assess(cfg, w, float64(cfg.MinOldAgeGC), false)
		if v != c.want {
			t.Errorf("%s: verdict %q, want %q; evidence %+v", c.name, v, c.want, ev)
		}
		if s := score(ev); s < 0 || s > 1 || (v == VerdictLeak && s < 0.2) {
			t.Errorf("%s: score %v", c.name, s)
		}
	}
}

func TestAssessNeedsFullWindow(t *testing.T) {
	cfg := Config{}.withDefaults()
	w := series(func(t float64) float64 { return t / 10 }, func(t float64) float64 { return t / 10 })
	w.spanGC = uint64(cfg.WindowGC - 1) // a GC short
	if v, ev := assess(cfg, w, float64(cfg.MinOldAgeGC), false); v != VerdictWatch || ev.Coverage >= 1 {
		t.Fatalf("partial GC window: verdict %q coverage %v, want watch < 1", v, ev.Coverage)
	}
	w.spanGC, w.spanSeconds = 120, 599
	if v, _ := assess(cfg, w, float64(cfg.MinOldAgeGC), false); v != VerdictWatch {
		t.Fatalf("partial time window: verdict %q, want watch", v)
	}
}

func TestSteadiness(t *testing.T) {
	var ts, lin, ramp, step []float64
	for i := range 61 {
		x := float64(i)
		ts = append(ts, 10*x)
		lin = append(lin, x/2)
		ramp = append(ramp, math.Min(x, 20))
		step = append(step, map[bool]float64{true: 0, false: 30}[x < 45])
	}
	if s := steadiness(ts, lin); s < 0.9 {
		t.Errorf("linear steadiness %v, want ~1", s)
	}
	// Even the bar a standing leak must keep (keepShare) is missed.
	if s := steadiness(ts, ramp); s >= keepShare {
		t.Errorf("ramp-then-flat steadiness %v, want < %v", s, keepShare)
	}
	if s := steadiness(ts, step); s >= keepShare {
		t.Errorf("step steadiness %v, want < %v", s, keepShare)
	}
}
