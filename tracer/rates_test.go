package tracer

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/leakscope/leakscope/snapshot"
)

func TestRateTimeline(t *testing.T) {
	tl := rateTimeline{{0, 512 << 10}, {1000, 8 << 20}, {5000, 1 << 20}}
	for _, c := range []struct {
		ns   uint64
		want int64
	}{{0, 512 << 10}, {999, 512 << 10}, {1000, 8 << 20}, {4999, 8 << 20}, {5000, 1 << 20}, {1 << 60, 1 << 20}} {
		if got := tl.at(c.ns); got != c.want {
			t.Errorf("rate at %d: %d, want %d", c.ns, got, c.want)
		}
	}
	if tl.ref(nil) != 8<<20 || tl[:1].ref(nil) != 0 {
		t.Errorf("reference rate %d (one rate: %d), want 8 MiB (0)", tl.ref(nil), tl[:1].ref(nil))
	}
	// Once no sample of the 8 MiB epoch is live, the counts go back to
	// the current rate; a live one from a lower epoch does not matter.
	if got := tl.ref(map[int64]bool{512 << 10: true}); got != 1<<20 {
		t.Errorf("reference rate with only 512 KiB samples live: %d, want the current 1 MiB", got)
	}
	if got := tl.ref(map[int64]bool{8 << 20: true}); got != 8<<20 {
		t.Errorf("reference rate with 8 MiB samples live: %d", got)
	}
	// RateInForce keeps the timeline in order and ignores repeats.
	a := &Attachment{t: &Tracer{}}
	a.RateInForce(512<<10, 0)
	a.RateInForce(512<<10, 50)
	a.RateInForce(4<<20, 100)
	a.RateInForce(1<<20, 90) // a clock read before the last entry: not before it
	if len(a.rates) != 3 || a.rates[2].fromNS != 100 {
		t.Errorf("timeline %+v", a.rates)
	}
}

// keepSample keeps a share r/ref of the samples, the same objects every
// time.
func TestKeepSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 200000
	kept := 0
	for range n {
		addr, ns := rng.Uint64()&^7, rng.Uint64()
		k := keepSample(addr, ns, 1<<20, 8<<20)
		if k != keepSample(addr, ns, 1<<20, 8<<20) {
			t.Fatal("not deterministic")
		}
		if k {
			kept++
		}
	}
	// Binomial(n, 1/8): sd 148; 5 sd.
	if math.Abs(float64(kept)-n/8.0) > 740 {
		t.Errorf("kept %d of %d, want about %d", kept, n, n/8)
	}
	// Consecutive addresses (a slice's objects) are not kept in a pattern.
	kept = 0
	for i := range uint64(n) {
		if keepSample(0xc000000000+16*i, 1000, 1<<20, 2<<20) {
			kept++
		}
	}
	if math.Abs(float64(kept)-n/2.0) > 1200 {
		t.Errorf("consecutive addresses: kept %d of %d, want about %d", kept, n, n/2)
	}
	if !keepSample(1, 2, 8<<20, 8<<20) || !keepSample(1, 2, 512, 0) {
		t.Error("samples at the reference rate must all be kept")
	}
}

// Live samples of one bucket taken at two rates: each scaled with its own.
func TestMergeWeighted(t *testing.T) {
	pid := uint32(os.Getpid())
	tr := &Tracer{buckets: map[uint32]*targetBuckets{}}
	b := fakeBucket(bucketTypeMem, 1024, 0x401001, 0x402002)
	key := bucketKey{pid, addrOf(b)}
	tl := rateTimeline{{0, 512 << 10}, {1000, 8 << 20}}
	s := &snapshot.Snapshot{PID: pid, Stacks: map[int32]*snapshot.StackStats{}, Losses: map[string]uint64{}, RateRef: tl.ref(nil)}
	counts := bucketCounts{}
	st := counts.at(key)
	st.Allocs, st.LiveObjects = 30, 30
	st.LiveAges[0] = 10 // as if thinned
	live := map[bucketKey]liveByRate{key: {512 << 10: 20, 8 << 20: 10}}
	// The allocations were seen at the first rate so far.
	tr.buckets[pid] = &targetBuckets{byAddr: map[uint64]bucketInfo{}, ids: map[string]int32{}}
	if _, err := tr.bucket(pid, key.addr); err != nil {
		t.Fatal(err)
	}
	tr.allocEstimate(key, 20, 1024, 512<<10)
	tr.mergeBuckets(map[uint32]*snapshot.Snapshot{pid: s}, counts, live, map[uint32]rateTimeline{pid: tl})
	got := s.Stacks[0]
	w1, w2 := snapshot.SampleWeight(1024, 512<<10), snapshot.SampleWeight(1024, 8<<20)
	if want := 20*w1 + 10*w2; math.Abs(got.LiveEstObjects-want) > 1e-6 || math.Abs(got.LiveEstBytes-1024*want) > 1e-3 {
		t.Errorf("live estimate %.1f objects, %.0f bytes; want %.1f, %.0f", got.LiveEstObjects, got.LiveEstBytes, want, 1024*want)
	}
	// 20 allocations at 512 KiB, the 10 since at the rate now in force.
	if want := 20*w1 + 10*w2; math.Abs(got.AllocEstObjects-want) > 1e-6 {
		t.Errorf("alloc estimate %.1f, want %.1f", got.AllocEstObjects, want)
	}
	if got.LiveObjects != 30 || got.LiveAges[0] != 10 {
		t.Errorf("sampled counts changed: %d live, %d kept", got.LiveObjects, got.LiveAges[0])
	}
}
