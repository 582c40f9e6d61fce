package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
)

// series builds the window of a group watched since attach, one snapshot
// every 10 s for 60 s with 40 GC cycles each, overdue age 4 cycles (0.25
// s): f gives sampled old objects at time t, overdue and deaths the
// overdue live objects and the cumulative overdue frees (nil: f and 0).
func series(f, overdue, deaths func(t float64) float64) window {
	w := window{spanSeconds: 60, spanGC: 240, sinceAttach: true, overdueAge: 4,
		dueSpanSeconds: 59, dueSpanGC: 236}
	w.overdueT, w.overdue, w.overdueDeaths = []float64{1}, []float64{0}, []float64{0}
	if overdue == nil {
		overdue = f
	}
	if deaths == nil {
		deaths = func(float64) float64 { return 0 }
	}
	for i := 1; i <= 6; i++ {
		t := float64(i * 10)
		n := math.Round(f(t))
		w.t = append(w.t, t)
		w.oldCount = append(w.oldCount, n)
		w.old = append(w.old, n*512*1024) // each sample stands for ~rate bytes
		w.overdueT = append(w.overdueT, t)
		w.overdue = append(w.overdue, math.Round(overdue(t)))
		w.overdueDeaths = append(w.overdueDeaths, math.Round(deaths(t)))
	}
	return w
}

func TestAssessSeries(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	noise := func(sd float64) float64 { return sd * r.NormFloat64() }
	cfg := Config{}.withDefaults()
	cases := []struct {
		name              string
		f, overdue, death func(float64) float64
		want              Verdict
	}{
		// 100 KiB/s at 512 KiB: a sample every 5 s, never freed.
		{"leak", func(t float64) float64 { return t / 5 }, nil, nil, VerdictLeak},
		// The same among old churn that comes and goes.
		{"leak in churn", func(t float64) float64 { return 30 + t/5 + noise(5) },
			func(t float64) float64 { return t / 5 }, nil, VerdictLeak},
		{"flat", func(float64) float64 { return 40 }, func(float64) float64 { return 0 }, nil, ""},
		{"flat noisy", func(float64) float64 { return 40 + noise(3) }, func(float64) float64 { return 0 }, nil, ""},
		// A cache that filled in 30 s and stopped.
		{"warm-up then flat", func(t float64) float64 { return math.Min(t, 30) * 3 }, nil, nil, VerdictWatch},
		{"step", func(t float64) float64 {
			if t < 45 {
				return 0
			}
			return 200
		}, nil, nil, VerdictWatch},
		// Overdue objects die about as fast as they appear: a mortal
		// population (its old bytes do grow: watch).
		{"mortal", func(t float64) float64 { return 10 + t/20 }, nil,
			func(t float64) float64 { return t / 2 }, VerdictWatch},
		// Old objects grow, none overdue: a working set still filling.
		{"growing but young", func(t float64) float64 { return t / 2 },
			func(float64) float64 { return 0 }, nil, VerdictWatch},
		{"decreasing", func(t float64) float64 { return 100 - t }, func(float64) float64 { return 0 }, nil, ""},
	}
	for _, c := range cases {
		w := series(c.f, c.overdue, c.death)
		v, ev := assess(cfg, w, float64(cfg.MinOldAgeGC), false)
		if v != c.want {
			t.Errorf("%s: verdict %q, want %q; evidence %+v", c.name, v, c.want, ev)
		}
		if s := score(ev); s < 0 || s > 1 || (v == VerdictLeak && s < 0.45) {
			t.Errorf("%s: score %v", c.name, s)
		}
	}
}

func TestAssessNeedsMinWindow(t *testing.T) {
	cfg := Config{}.withDefaults()
	leak := func(t float64) float64 { return t / 2 }
	w := series(leak, nil, nil)
	if v, ev := assess(cfg, w, 2, false); v != VerdictLeak || ev.Coverage != 1 {
		t.Fatalf("full window: %q coverage %v", v, ev.Coverage)
	}
	w.dueSpanGC = float64(cfg.MinWindowGC - 1) // a GC short
	if v, ev := assess(cfg, w, 2, false); v != VerdictWatch || ev.Coverage >= 1 {
		t.Fatalf("partial GC window: verdict %q coverage %v, want watch < 1", v, ev.Coverage)
	}
	w = series(leak, nil, nil)
	w.dueSpanSeconds = cfg.MinWindow.Seconds() - 1
	if v, _ := assess(cfg, w, 2, false); v != VerdictWatch {
		t.Fatalf("partial time window: verdict %q, want watch", v)
	}
}

func TestBinomialUpper(t *testing.T) {
	for _, c := range []struct{ k, n, want float64 }{
		{6, 6, 1.0 / 64}, {5, 10, 1}, {8, 10, 56.0 / 1024}, {0, 0, 1}, {11, 10, 0},
	} {
		if got := binomialUpper(c.k, c.n); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("P(Bin(%v,1/2) >= %v) = %v, want %v", c.n, c.k, got, c.want)
		}
	}
	// The normal approximation joins the exact sum.
	if a, b := binomialUpper(530, 1000), binomialUpper(531, 1001); math.Abs(a-b)/a > 0.1 {
		t.Errorf("exact %v vs normal %v", a, b)
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
	if s := steadiness(ts, lin, 30, false); s < 0.9 {
		t.Errorf("linear steadiness %v, want ~1", s)
	}
	// Even the bar a standing leak must keep (keepShare) is missed.
	if s := steadiness(ts, ramp, 30, false); s >= keepShare {
		t.Errorf("ramp-then-flat steadiness %v, want < %v", s, keepShare)
	}
	if s := steadiness(ts, step, 30, false); s >= keepShare {
		t.Errorf("step steadiness %v, want < %v", s, keepShare)
	}
	if s := steadiness(ts, make([]float64, 61), 30, false); s != 0 {
		t.Errorf("flat steadiness %v, want 0", s)
	}
}
