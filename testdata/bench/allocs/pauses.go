package main

import (
	"math"
	"runtime/metrics"
)

// pauses are the GC stop-the-world pause histograms since start (Go 1.22+):
// the whole pause, and the part spent stopping the world.
type pauses struct{ total, stopping hist }

// hist is a runtime/metrics time histogram (bucket bounds in seconds).
type hist struct {
	counts  []uint64
	buckets []float64
}

func readPauses() pauses {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}, {Name: "/sched/pauses/stopping/gc:seconds"}}
	metrics.Read(s)
	get := func(v metrics.Value) hist {
		if v.Kind() != metrics.KindFloat64Histogram {
			return hist{}
		}
		h := v.Float64Histogram()
		return hist{counts: append([]uint64(nil), h.Counts...), buckets: h.Buckets}
	}
	return pauses{total: get(s[0].Value), stopping: get(s[1].Value)}
}

// since is the pauses between p0 and p.
func (p pauses) since(p0 pauses) pauses {
	return pauses{total: p.total.since(p0.total), stopping: p.stopping.since(p0.stopping)}
}

func (h hist) since(h0 hist) hist {
	out := hist{counts: make([]uint64, len(h.counts)), buckets: h.buckets}
	for i := range h.counts {
		out.counts[i] = h.counts[i]
		if i < len(h0.counts) {
			out.counts[i] -= h0.counts[i]
		}
	}
	return out
}

func (h hist) count() uint64 {
	var n uint64
	for _, c := range h.counts {
		n += c
	}
	return n
}

// upperNs is bucket i's upper bound in nanoseconds (its lower bound for
// the last, unbounded bucket).
func (h hist) upperNs(i int) int64 {
	b := h.buckets[i+1]
	if math.IsInf(b, 1) {
		b = h.buckets[i]
	}
	return int64(b * 1e9)
}

// meanNs is the mean pause, counting each pause at its bucket's midpoint.
func (h hist) meanNs() int64 {
	var n uint64
	var sum float64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		lo := math.Max(h.buckets[i], 0)
		mid := (lo*1e9 + float64(h.upperNs(i))) / 2
		sum += mid * float64(c)
		n += c
	}
	if n == 0 {
		return 0
	}
	return int64(sum / float64(n))
}

// quantileNs is the upper bound of the bucket holding quantile q.
func (h hist) quantileNs(q float64) int64 {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank && c > 0 {
			return h.upperNs(i)
		}
	}
	return 0
}
