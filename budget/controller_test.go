package budget

import (
	"testing"
	"time"
)

// period is an observation of secs seconds ending at end (seconds since
// t0) of a target allocating bytesPerSec of small objects at rate.
func period(t0 time.Time, end, secs float64, bytesPerSec float64, rate int64, perSample time.Duration) Observation {
	from := t0.Add(time.Duration((end - secs) * float64(time.Second)))
	to := t0.Add(time.Duration(end * float64(time.Second)))
	return Observation{From: from, To: to, Samples: uint64(bytesPerSec * secs / float64(rate)), Rate: rate, PerSample: perSample}
}

func TestControllerRaisesThenHolds(t *testing.T) {
	t0 := time.Unix(1000, 0)
	per := ForArch("amd64").PerSample(true)
	c := &Controller{Budget: 0.01, Floor: 512 << 10}
	// 10 GB/s at 512 KiB: ~19000 samples/s, ~43% of a core.
	rate := c.Floor
	d := c.Observe(period(t0, 10, 10, 10e9, rate, per))
	if d.Overhead < 0.08 || d.Rate <= rate || !d.Active {
		t.Fatalf("first over-budget period: %+v, want a raise from %d", d, rate)
	}
	rate = d.Rate
	if rate&(rate-1) != 0 || rate < 16*c.Floor {
		t.Errorf("raised to %d: want a power-of-two multiple of the floor, at least 16x for a 43%% estimate", rate)
	}
	after := period(t0, 20, 10, 10e9, rate, per).Overhead()
	if after > c.Budget*aimShare || after <= c.Budget*aimShare/2 {
		t.Errorf("overhead at the new rate %.4f, want in (%.4f, %.4f]", after, c.Budget*aimShare/2, c.Budget*aimShare)
	}
	// Doubling the load within RaiseHold after the change: held.
	if d := c.Observe(period(t0, 15, 5, 40e9, rate, per)); d.Rate != rate {
		t.Errorf("raised again %v after the change: %d", 5*time.Second, d.Rate)
	}
	// A period that started before the change is not the new rate's.
	c2 := &Controller{Budget: 0.01, Floor: 512 << 10}
	c2.lastChange = t0.Add(25 * time.Second)
	if d := c2.Observe(period(t0, 40, 20, 40e9, rate, per)); d.Rate != rate {
		t.Errorf("a period straddling the change moved the rate to %d", d.Rate)
	}
	// In the dead band (between calmShare and 1 of the budget): no change, ever.
	for end := 30.0; end < 300; end += 10 {
		if d := c.Observe(period(t0, end, 10, 10e9, rate, per)); d.Rate != rate {
			t.Fatalf("dead band at %.0f s: rate moved to %d (overhead %.4f)", end, d.Rate, d.Overhead)
		}
	}
}

func TestControllerLowersWhenCalm(t *testing.T) {
	t0 := time.Unix(1000, 0)
	per := ForArch("amd64").PerSample(true)
	c := &Controller{Budget: 0.01, Floor: 512 << 10}
	rate := c.Observe(period(t0, 10, 10, 10e9, c.Floor, per)).Rate
	// The target calms to 50 MB/s: lowered only after LowerHold of calm.
	var lowered float64
	for end := 20.0; end <= 200; end += 10 {
		d := c.Observe(period(t0, end, 10, 50e6, rate, per))
		if d.Rate != rate {
			lowered = end
			rate = d.Rate
			break
		}
	}
	if lowered < 10+LowerHold.Seconds() {
		t.Fatalf("lowered at %.0f s, before %v of calm", lowered, LowerHold)
	}
	if rate != c.Floor {
		t.Errorf("at 50 MB/s (%.3f%% of a core at the floor) the rate went to %d, want the floor %d",
			100*period(t0, 0, 10, 50e6, c.Floor, per).Overhead(), rate, c.Floor)
	}
	if d := c.Observe(period(t0, 300, 10, 50e6, rate, per)); d.Rate != c.Floor || d.Active {
		t.Errorf("at the floor: %+v", d)
	}
}

func TestControllerOff(t *testing.T) {
	t0 := time.Unix(1000, 0)
	per := ForArch("amd64").PerSample(true)
	for _, c := range []*Controller{{Budget: 0, Floor: 512 << 10}, {Budget: 0.01, Floor: 0}} {
		d := c.Observe(period(t0, 10, 10, 10e9, 512<<10, per))
		if d.Rate != 512<<10 || d.Active {
			t.Errorf("controller %+v: %+v, want no change", c, d)
		}
		if d.Overhead < 0.08 {
			t.Errorf("controller %+v: overhead %.4f still estimated", c, d.Overhead)
		}
	}
}

// The corpus-like rates: testdata/leaky and the 100 MB/s case stay far
// under the budget.
func TestControllerQuietTargets(t *testing.T) {
	t0 := time.Unix(1000, 0)
	per := ForArch("amd64").PerSample(true)
	for _, bps := range []float64{1e6, 20e6, 100e6} {
		c := &Controller{Budget: 0.01, Floor: 512 << 10}
		for end := 10.0; end <= 600; end += 10 {
			if d := c.Observe(period(t0, end, 10, bps, c.Floor, per)); d.Rate != c.Floor || d.Active {
				t.Fatalf("%.0f B/s: %+v", bps, d)
			}
		}
	}
}

func TestCostTable(t *testing.T) {
	c := ForArch("amd64")
	if got := c.PerSample(true); got < 18*time.Microsecond || got > 27*time.Microsecond {
		t.Errorf("amd64 cost per sample %v, want the 22.5 us of BenchmarkSampleCost", got)
	}
	if c.PerSample(false) != c.Traps+c.BPF {
		t.Errorf("without the runtime part: %v", c.PerSample(false))
	}
	if a := ForArch("arm64"); a.PerSample(true) != c.PerSample(true) || a.Source == c.Source {
		t.Errorf("arm64: %+v: want amd64's figures, said so", a)
	}
	live := c.WithLiveBPF(2*time.Millisecond, 1000)
	if live.BPF != 2*time.Microsecond || live.Runtime != c.Runtime {
		t.Errorf("live BPF: %+v", live)
	}
	if c.WithLiveBPF(time.Millisecond, 10).BPF != c.BPF {
		t.Errorf("10 samples replaced the table's BPF figure")
	}
}

// leakscope's own CPU counts in the estimate and narrows what sampling may
// take, but never below half the budget: a target that samples little is
// never raised for leakscope's sake.
func TestControllerOwnWork(t *testing.T) {
	t0 := time.Unix(1000, 0)
	per := ForArch("amd64").PerSample(true)
	withOwn := func(o Observation, own float64) Observation { o.Own = own; return o }
	for _, own := range []float64{0.004, 0.02} {
		c := &Controller{Budget: 0.01, Floor: 512 << 10}
		d := c.Observe(withOwn(period(t0, 10, 10, 10e9, c.Floor, per), own))
		if d.Rate <= c.Floor || d.Overhead < own {
			t.Fatalf("own %.3f: %+v, want a raise and an estimate that includes it", own, d)
		}
		room := max(c.Budget-own, c.Budget*minRoomShare)
		after := withOwn(period(t0, 20, 10, 10e9, d.Rate, per), own)
		if s := after.Overhead() - own; s > aimShare*room || s <= aimShare*room/2 {
			t.Errorf("own %.3f: sampling at the new rate %.4f, want in (%.4f, %.4f]", own, s, aimShare*room/2, aimShare*room)
		}
		if own < c.Budget*minRoomShare && after.Overhead() > c.Budget {
			t.Errorf("own %.3f: estimate %.4f at the new rate, over the budget", own, after.Overhead())
		}
		q := &Controller{Budget: 0.01, Floor: 512 << 10}
		for end := 10.0; end <= 300; end += 10 {
			d := q.Observe(withOwn(period(t0, end, 10, 20e6, q.Floor, per), own))
			if d.Rate != q.Floor || d.Active || d.Overhead < own {
				t.Fatalf("own %.3f, 20 MB/s at %.0f s: %+v, want the floor kept and own counted", own, end, d)
			}
		}
	}
}
