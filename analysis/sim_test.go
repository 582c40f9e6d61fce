package analysis

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/leakscope/leakscope/snapshot"
	"github.com/leakscope/leakscope/symbolize"
)

// This file is a small model of a Go heap as the tracer sees it: sampled
// objects with an allocation time, a death time and the GC cycle count,
// freed at the first collection after they die, reported as Snapshots.

// stream is one kind of allocation at one stack.
type stream struct {
	stack int32
	size  uint64
	// rate is the number of SAMPLED allocations per second at time t.
	rate func(t float64) float64
	// death returns when an object allocated at t becomes unreachable
	// (math.Inf(1) for a leak).
	death func(r *rand.Rand, t float64) float64
}

type simObject struct {
	stack   int32
	size    uint64
	death   float64
	allocGC uint64
}

type sim struct {
	r        *rand.Rand
	interval float64 // seconds
	gcPeriod float64 // seconds between collections; 0 = never
	// gcTimes, when set, are the collections' times instead (sorted).
	gcTimes []float64
	streams []stream
	t       float64
	live    []simObject
	stats   map[int32]*snapshot.StackStats
}

func newSim(seed uint64, gcPeriod float64, streams ...stream) *sim {
	return &sim{
		r:        rand.New(rand.NewPCG(seed, 0x1eac5c09e)),
		interval: 10,
		gcPeriod: gcPeriod,
		streams:  streams,
		stats:    make(map[int32]*snapshot.StackStats),
	}
}

const simRate = 512 * 1024

// simTime is the wall time t seconds into a simulation.
func simTime(t float64) time.Time {
	return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(t * float64(time.Second)))
}

func (s *sim) gcAt(t float64) uint64 {
	if s.gcTimes != nil {
		n, _ := slices.BinarySearch(s.gcTimes, t)
		for n < len(s.gcTimes) && s.gcTimes[n] <= t {
			n++
		}
		return uint64(n)
	}
	if s.gcPeriod <= 0 {
		return 0
	}
	return uint64(math.Floor(t / s.gcPeriod))
}

// poisson draws from Poisson(lambda).
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 50 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// freedBucketOf is the tracer's log2 age bucket.
func freedBucketOf(age uint64) int {
	return min(bits.Len64(age), snapshot.AgeBuckets-1)
}

func (s *sim) statsFor(id int32) *snapshot.StackStats {
	st, ok := s.stats[id]
	if !ok {
		st = &snapshot.StackStats{StackID: id, PCs: simPCs(id)}
		s.stats[id] = st
	}
	return st
}

// step advances one interval and returns the snapshot at its end.
func (s *sim) step() *snapshot.Snapshot {
	t0, t1 := s.t, s.t+s.interval
	for _, st := range s.streams {
		n := poisson(s.r, st.rate((t0+t1)/2)*s.interval)
		ss := s.statsFor(st.stack)
		for range n {
			at := t0 + s.r.Float64()*s.interval
			s.live = append(s.live, simObject{
				stack: st.stack, size: st.size,
				death: math.Max(at, st.death(s.r, at)), allocGC: s.gcAt(at),
			})
			ss.Allocs++
			ss.AllocBytes += st.size
		}
	}
	s.t = t1
	gc := s.gcAt(t1)
	for _, st := range s.stats {
		st.LiveObjects, st.LiveBytes = 0, 0
		st.LiveAges = make([]uint64, 64)
	}
	kept := s.live[:0]
	for _, o := range s.live {
		st := s.stats[o.stack]
		if o.death < t1 && gc > s.gcAt(o.death) {
			st.Frees++
			st.FreeBytes += o.size
			st.FreedAge[freedBucketOf(s.gcAt(o.death)-o.allocGC)]++
			continue
		}
		kept = append(kept, o)
		st.LiveObjects++
		st.LiveBytes += o.size
		st.LiveAges[min(gc-o.allocGC, 63)]++
	}
	s.live = kept
	snap := &snapshot.Snapshot{
		PID: 42, Time: simTime(t1),
		GCCycles: gc, MemProfileRate: simRate,
		Stacks: make(map[int32]*snapshot.StackStats, len(s.stats)),
	}
	for id, st := range s.stats {
		c := *st
		c.LiveAges = append([]uint64(nil), st.LiveAges...)
		snap.Stacks[id] = &c
	}
	return snap
}

// Synthetic stacks: two runtime frames, the site of stack id, main.main.
func simPCs(id int32) []uint64 {
	return []uint64{0x1000, 0x2000, 0x10000 + uint64(id)*0x100, 0x9000}
}

// simSymbolizer resolves simPCs and counts calls.
type simSymbolizer struct{ calls int }

func (s *simSymbolizer) Symbolize(pcs []uint64) []symbolize.Frame {
	s.calls++
	out := make([]symbolize.Frame, 0, len(pcs))
	for _, pc := range pcs {
		switch {
		case pc == 0x1000:
			out = append(out, symbolize.Frame{PC: pc, Function: "runtime.mallocgc", File: "/go/src/runtime/malloc.go", Line: 1000})
		case pc == 0x2000:
			out = append(out, symbolize.Frame{PC: pc, Function: "runtime.newobject", File: "/go/src/runtime/malloc.go", Line: 1700})
		case pc == 0x9000:
			out = append(out, symbolize.Frame{PC: pc, Function: "main.main", File: "/src/app/main.go", Line: 10})
		default:
			id := (pc - 0x10000) / 0x100
			out = append(out, symbolize.Frame{PC: pc, Function: fmt.Sprintf("main.site%d", id), File: "/src/app/main.go", Line: 100 + int(id)})
		}
	}
	return out
}

// Stream helpers.

func constRate(r float64) func(float64) float64 { return func(float64) float64 { return r } }

func forever(*rand.Rand, float64) float64 { return math.Inf(1) }

// expLife: lifetimes exponential with the given mean (seconds).
func expLife(mean float64) func(*rand.Rand, float64) float64 {
	return func(r *rand.Rand, t float64) float64 { return t + r.ExpFloat64()*mean }
}

// fixedLife: every object lives exactly d seconds.
func fixedLife(d float64) func(*rand.Rand, float64) float64 {
	return func(_ *rand.Rand, t float64) float64 { return t + d }
}

// window of rate r during [from, to), 0 elsewhere.
func during(r, from, to float64) func(float64) float64 {
	return func(t float64) float64 {
		if t >= from && t < to {
			return r
		}
		return 0
	}
}

// simRun feeds n intervals of s to a fresh Target and returns, per
// interval, the verdict of the suspect at stack id site ("" if none).
func simRun(s *sim, cfg Config, n int, site int32) ([]Verdict, *Target) {
	tg := NewTarget(cfg)
	sym := &simSymbolizer{}
	want := fmt.Sprintf("main.site%d", site)
	out := make([]Verdict, n)
	for i := range n {
		tg.Add(s.step(), sym)
		for _, sp := range tg.Suspects() {
			if sp.Function == want {
				out[i] = sp.Verdict
			}
		}
	}
	return out, tg
}

// firstVerdict is the first interval (1-based) with verdict v, or 0.
func firstVerdict(vs []Verdict, v Verdict) int {
	for i, x := range vs {
		if x == v {
			return i + 1
		}
	}
	return 0
}

// sampledRate is the sampled allocations per second of a stream of
// objects of size bytes allocated at bytesPerSec, at simRate.
func sampledRate(bytesPerSec, size float64) float64 {
	return bytesPerSec / size * (1 - math.Exp(-size/simRate))
}
