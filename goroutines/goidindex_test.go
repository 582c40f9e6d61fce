package goroutines

import (
	"math/rand/v2"
	"testing"
)

// TestGoidIndex checks the table against a map through random puts and
// deletes of goids that collide a lot (few distinct low bits) and of
// dense runs like the runtime's.
func TestGoidIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var idx goidIndex
	want := map[uint64]int32{}
	key := func() uint64 {
		if r.IntN(2) == 0 {
			return uint64(1 + r.IntN(5000)) // dense, like goids
		}
		return uint64(1+r.IntN(40)) << 20 // same low bits: long probe chains
	}
	for step := range 200_000 {
		k := key()
		if r.IntN(3) == 0 {
			idx.del(k)
			delete(want, k)
		} else {
			idx.put(k, int32(step))
			want[k] = int32(step)
		}
		if step%50_000 == 0 {
			idx.shrink()
		}
		if step%1000 == 0 {
			if idx.Len() != len(want) {
				t.Fatalf("step %d: %d goids held, want %d", step, idx.Len(), len(want))
			}
			for k, v := range want {
				if got, ok := idx.get(k); !ok || got != v {
					t.Fatalf("step %d: goid %d -> %d, %v; want %d", step, k, got, ok, v)
				}
			}
		}
		if _, ok := idx.get(k); ok != hasKey(want, k) {
			t.Fatalf("step %d: goid %d present %v, want %v", step, k, ok, hasKey(want, k))
		}
	}
}

// TestGoidIndexShrink: a table emptied of most of its goids shrinks and
// still finds the rest.
func TestGoidIndexShrink(t *testing.T) {
	var idx goidIndex
	for id := uint64(1); id <= 100_000; id++ {
		idx.put(id, int32(id))
	}
	big := len(idx.keys)
	for id := uint64(1); id <= 99_000; id++ {
		idx.del(id)
	}
	idx.shrink()
	if len(idx.keys) >= big/8 || idx.Len() != 1000 {
		t.Errorf("after deleting 99%%: %d entries (was %d), %d goids; want fewer than %d and 1000", len(idx.keys), big, idx.Len(), big/8)
	}
	for id := uint64(99_001); id <= 100_000; id++ {
		if v, ok := idx.get(id); !ok || v != int32(id) {
			t.Fatalf("goid %d -> %d, %v after shrinking", id, v, ok)
		}
	}
}

func hasKey(m map[uint64]int32, k uint64) bool { _, ok := m[k]; return ok }

// TestGoidIndexClusters: a long-lived process holds a long run of
// consecutive goids (a leak parked a million goroutines) while new goids,
// far above them, come and go. Looking up a goid must not walk through
// the run: the probe lengths stay short whatever the goids.
func TestGoidIndexClusters(t *testing.T) {
	var idx goidIndex
	const run = 200_000
	for id := uint64(1000); id < 1000+run; id++ {
		idx.put(id, 1)
	}
	mask := uint64(len(idx.keys) - 1)
	total, longest := 0, 0
	const lookups = 20_000
	for i := range uint64(lookups) {
		id := 1<<30 + i*7919 // absent, homes spread over the table
		at, ok := idx.find(id)
		if ok {
			t.Fatalf("goid %d found, never put", id)
		}
		d := int((uint64(at) - idx.home(id)) & mask)
		total += d
		longest = max(longest, d)
	}
	t.Logf("absent goids: %.1f probes on average, %d at most", float64(total)/lookups, longest)
	if mean := float64(total) / lookups; mean > 8 || longest > 512 {
		t.Errorf("absent goids probe %.1f entries on average, %d at most, beside a run of %d goids; want <= 8 and <= 512", mean, longest, run)
	}
}
