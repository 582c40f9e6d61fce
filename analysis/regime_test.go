package analysis

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// GC regimes where collections are rare: the leak is (nearly) the only
// allocation, so the heap doubles between collections; a quiet process
// collects only by the runtime's forced GC every two minutes. Time 0 is
// the attach; the process started `before` seconds earlier.

// doublingGCs returns the collection times of a process whose heap grows
// only by a leak of bytesPerSec since it started before seconds before
// the attach: a collection each time the heap reaches 4 MB << k (GOGC
// 100, the runtime's 4 MB minimum goal), or two minutes after the last.
func doublingGCs(bytesPerSec, before, until float64) []float64 {
	var out []float64
	goal, last := 4e6, -before
	for {
		next := goal/bytesPerSec - before
		if forced := last + 120; forced < next {
			next = forced
		}
		if next > until {
			return out
		}
		if next > 0 {
			out = append(out, next)
		}
		heap := (next + before) * bytesPerSec
		goal, last = math.Max(2*heap, 4e6), next
	}
}

// everyFrom returns collections every period seconds from the first at
// phase, until until.
func everyFrom(phase, period, until float64) []float64 {
	var out []float64
	for t := phase; t <= until; t += period {
		out = append(out, t)
	}
	return out
}

// regimeRun is run with explicit collection times; it also returns, per
// interval, whether the site ranked first among the suspects.
func regimeRun(seed uint64, gcs []float64, interval, duration float64, streams []stream) ([]Verdict, []bool, *Target) {
	s := newSim(seed, 0, streams...)
	s.gcTimes, s.interval = gcs, interval
	tg := NewTarget(Config{Interval: time.Duration(interval * float64(time.Second))})
	sym := &simSymbolizer{}
	n := int(duration / interval)
	vs, first := make([]Verdict, n), make([]bool, n)
	for i := range n {
		tg.Add(s.step(), sym)
		for j, sp := range tg.Suspects() {
			if sp.Function == "main.site1" {
				vs[i], first[i] = sp.Verdict, j == 0
			}
		}
	}
	return vs, first, tg
}

func TestRareGCLeakDetected(t *testing.T) {
	cases := []struct {
		name     string
		gcs      func(seed uint64) []float64
		streams  []stream
		within   float64 // leak, and ranked first, by then in share of seeds
		share    float64
		duration float64
	}{
		{
			// Issue 15's first program, at a third of its rate: 64 KiB
			// records at 4 MB/s and nothing else, GC when the heap
			// doubles (5 collections in the first minute).
			name: "only allocation, large records",
			gcs:  func(uint64) []float64 { return doublingGCs(4e6, 3, 900) },
			streams: []stream{{stack: 1, size: 64 << 10, rate: constRate(sampledRate(4e6, 64<<10)), death: forever},
				{stack: 2, size: 512, rate: constRate(0.05), death: expLife(0.5)}},
			within: 60, share: 0.95, duration: 120,
		},
		{
			// Small linked structures at ~1 MB/s, a few collections a
			// minute.
			name: "only allocation, small structs",
			gcs:  func(seed uint64) []float64 { return everyFrom(float64(seed%15), 15, 900) },
			streams: []stream{{stack: 1, size: 160, rate: constRate(sampledRate(1e6, 160)), death: forever},
				churnAt(2, 20*kib, 0.5)},
			within: 60, share: 0.95, duration: 120,
		},
		{
			// The goal's floor: 100 KiB/s with a collection every 20 s.
			name:    "100KiB/s, 3 GC a minute",
			gcs:     func(seed uint64) []float64 { return everyFrom(float64(seed%20), 20, 900) },
			streams: []stream{leakAt(1, 100*kib), churnAt(2, 20*kib, 0.5)},
			within:  90, share: 0.9, duration: 180,
		},
		{
			// Quiet: 32 KiB/s, collections only by the forced GC.
			name:    "quiet 32KiB/s, forced GC only",
			gcs:     func(seed uint64) []float64 { return everyFrom(float64(seed%120), 120, 2000) },
			streams: []stream{{stack: 1, size: 320, rate: constRate(sampledRate(32*kib, 320)), death: forever}},
			within:  600, share: 0.9, duration: 900,
		},
	}
	for _, c := range cases {
		for _, interval := range []float64{5, 10} {
			t.Run(c.name+"/"+strconv.Itoa(int(interval))+"s", func(t *testing.T) {
				n := nSeeds(40)
				hit := 0
				for seed := range uint64(n) {
					vs, first, _ := regimeRun(seed+1, c.gcs(seed+1), interval, c.duration, c.streams)
					i := firstVerdict(vs, VerdictLeak)
					if i == 0 {
						t.Fatalf("seed %d: no leak in %v s: %v", seed+1, c.duration, vs)
					}
					if float64(i)*interval <= c.within && first[i-1] {
						hit++
					}
					if vs[len(vs)-1] != VerdictLeak {
						t.Errorf("seed %d: %q at the end", seed+1, vs[len(vs)-1])
					}
				}
				if float64(hit) < c.share*float64(n) {
					t.Fatalf("leak ranked first within %v s in %d of %d seeds, want %.0f%%", c.within, hit, n, 100*c.share)
				}
				t.Logf("leak ranked first within %v s in %d of %d seeds", c.within, hit, n)
			})
		}
	}
}

// The quiet leak is the top suspect, with its growth, within 5 minutes.
func TestQuietLeakWatchedEarly(t *testing.T) {
	n := nSeeds(40)
	hit := 0
	for seed := range uint64(n) {
		gcs := everyFrom(float64((seed+1)%120), 120, 2000)
		vs, first, _ := regimeRun(seed+1, gcs, 5, 300,
			[]stream{{stack: 1, size: 320, rate: constRate(sampledRate(32*kib, 320)), death: forever}, churnAt(2, 2*kib, 0.2)})
		if last := len(vs) - 1; vs[last] != "" && first[last] {
			hit++
		}
	}
	if hit < n*9/10 {
		t.Fatalf("quiet leak the top suspect at 5 minutes in %d of %d seeds", hit, n)
	}
	t.Logf("quiet leak the top suspect at 5 minutes in %d of %d seeds", hit, n)
}

// Controls of the same regimes: never leak.
func TestRareGCNoFalseLeak(t *testing.T) {
	cases := []struct {
		name     string
		gcs      func(seed uint64) []float64
		streams  []stream
		duration float64
	}{
		{
			// A quiet cache filled at 64 KiB/s for 3 minutes after
			// start (attach at 3 s), then read only.
			name: "quiet cache filled 3 minutes",
			gcs: func(seed uint64) []float64 {
				g := doublingGCs(64*kib, 3, 177)
				last := 177.0
				if len(g) > 0 {
					last = g[len(g)-1]
				}
				return append(g, everyFrom(last+120, 120, 3600)...)
			},
			streams:  []stream{{stack: 1, size: 1024, rate: during(sampledRate(64*kib, 1024), 0, 177), death: forever}},
			duration: 1800,
		},
		{
			// 500 MB loaded in the first 20 s of the watch, then forced
			// GC only.
			name: "start-up load while watched",
			gcs: func(seed uint64) []float64 {
				return append(doublingGCs(25e6, 0, 20), everyFrom(20+float64(seed%120), 120, 3600)...)
			},
			streams:  []stream{{stack: 1, size: 4096, rate: during(sampledRate(25e6, 4096), 0, 20), death: forever}},
			duration: 1800,
		},
		{
			// A bounded ring buffer of 1 KiB entries, each replaced
			// after ~40 s, the only allocation: GC every ~40 s.
			name:     "ring buffer",
			gcs:      func(seed uint64) []float64 { return everyFrom(float64(seed%40), 40, 3600) },
			streams:  []stream{{stack: 1, size: 1024, rate: constRate(sampledRate(100*kib, 1024)), death: fixedLife(40)}},
			duration: 1800,
		},
		{
			// A working set living ~60 s in a process collecting every
			// 10 s: survivors die, so the survival rule does not apply.
			name:     "working set, GC every 10s",
			gcs:      func(seed uint64) []float64 { return everyFrom(float64(seed%10), 10, 3600) },
			streams:  []stream{{stack: 1, size: 200, rate: constRate(20), death: expLife(60)}},
			duration: 1200,
		},
		{
			// Sessions of ~5 minutes, collections every 2 minutes.
			name:     "sessions, forced GC only",
			gcs:      func(seed uint64) []float64 { return everyFrom(float64(seed%120), 120, 3600) },
			streams:  []stream{{stack: 1, size: 512, rate: constRate(0.5), death: expLife(300)}},
			duration: 3600,
		},
	}
	for _, c := range cases {
		for _, interval := range []float64{5, 10} {
			t.Run(c.name+"/"+strconv.Itoa(int(interval))+"s", func(t *testing.T) {
				for _, seed := range seeds() {
					vs, _, _ := regimeRun(seed, c.gcs(seed), interval, c.duration, c.streams)
					if i := firstVerdict(vs, VerdictLeak); i != 0 {
						t.Fatalf("seed %d: leak at %v s: %v", seed, float64(i)*interval, vs[:i])
					}
				}
			})
		}
	}
}

// A survival leak says so: rule, reason and a score of a leak; the GC
// regime reports the rare collections.
func TestSurvivalEvidenceReported(t *testing.T) {
	gcs := everyFrom(30, 120, 2000)
	_, _, tg := regimeRun(1, gcs, 5, 600,
		[]stream{{stack: 1, size: 320, rate: constRate(sampledRate(64*kib, 320)), death: forever}})
	sp := tg.Suspects()
	if len(sp) != 1 || sp[0].Verdict != VerdictLeak {
		t.Fatalf("suspects = %+v, want one leak", sp)
	}
	s := sp[0]
	if s.Evidence.Rule != "survival" || !strings.Contains(s.Reason, "survived every GC") || s.Score < 0.4 || s.GrowthBytesPerSecond <= 0 {
		t.Fatalf("leak = rule %q reason %q score %v growth %v", s.Evidence.Rule, s.Reason, s.Score, s.GrowthBytesPerSecond)
	}
	r := tg.Regime()
	if r.GCCycles != 5 || r.CyclesPerMinute < 0.4 || r.CyclesPerMinute > 0.6 || !strings.HasPrefix(r.Summary, "rare GC") || r.SecondsSinceGC < 0 {
		t.Fatalf("regime = %+v", r)
	}
}
