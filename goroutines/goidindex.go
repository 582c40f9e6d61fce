package goroutines

// goidIndex maps goids to int32 slots: an open-addressing table with
// linear probing. The runtime hands goids out in batches of 16 per P, and
// g structs side by side mostly hold neighbouring goids: the table keeps
// each aligned block of 8 goids together (so looking up the goroutines of
// a read in address order mostly stays within a cache line or two, where
// a general map misses the cache on every one of a million goroutines) and
// scatters the blocks with a multiplicative hash (so that a million
// consecutive goids do not form one cluster that a new goid hashing into
// it would have to probe to its end). Goid 0 is never valid and marks an
// empty entry.
type goidIndex struct {
	keys []uint64
	vals []int32
	n    int
}

// newGoidIndex sizes the table for about n goids.
func newGoidIndex(n int) goidIndex {
	size := 64
	for size < 2*n {
		size *= 2
	}
	return goidIndex{keys: make([]uint64, size), vals: make([]int32, size)}
}

// Len is the number of goids held.
func (t *goidIndex) Len() int { return t.n }

// blockBits: goids are kept together in aligned blocks of 1<<blockBits.
// Larger blocks keep more neighbours in a cache line but lengthen probes
// (TestGoidIndexClusters: 8 goids, 4.7 entries per absent goid on average
// beside a run of 200K; 16 goids, 9.6).
const blockBits = 3

// home is where id goes if its place is free.
func (t *goidIndex) home(id uint64) uint64 {
	h := (id >> blockBits) * 0x9e3779b97f4a7c15
	h ^= h >> 29
	return (h<<blockBits | id&(1<<blockBits-1)) & uint64(len(t.keys)-1)
}

// find is where id is, or the empty entry where it would go.
func (t *goidIndex) find(id uint64) (int, bool) {
	mask := uint64(len(t.keys) - 1)
	for i := t.home(id); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case id:
			return int(i), true
		case 0:
			return int(i), false
		}
	}
}

// get is id's slot.
func (t *goidIndex) get(id uint64) (int32, bool) {
	if len(t.keys) == 0 {
		return 0, false
	}
	i, ok := t.find(id)
	return t.vals[i], ok
}

// reserve makes room for n goids without growing.
func (t *goidIndex) reserve(n int) {
	if 2*n > len(t.keys) {
		t.resize(n)
	}
}

// shrink lets go of a table far larger than what it holds (a burst of
// goroutines that drained).
func (t *goidIndex) shrink() {
	if len(t.keys) > 1024 && len(t.keys) > 8*t.n {
		t.resize(t.n)
	}
}

// put sets id's slot (id != 0).
func (t *goidIndex) put(id uint64, v int32) {
	if 2*(t.n+1) > len(t.keys) {
		t.grow()
	}
	i, ok := t.find(id)
	if !ok {
		t.keys[i] = id
		t.n++
	}
	t.vals[i] = v
}

func (t *goidIndex) grow() { t.resize(max(2*t.n, 32)) }

// resize rebuilds the table for about n goids (at least those it holds).
func (t *goidIndex) resize(n int) {
	old := *t
	*t = newGoidIndex(max(n, old.n))
	for i, k := range old.keys {
		if k != 0 {
			t.put(k, old.vals[i])
		}
	}
}

// del removes id, moving back the entries after it that could not be
// found otherwise (no tombstones: the table never degrades).
func (t *goidIndex) del(id uint64) {
	if len(t.keys) == 0 {
		return
	}
	i, ok := t.find(id)
	if !ok {
		return
	}
	t.n--
	mask := len(t.keys) - 1
	for {
		t.keys[i] = 0
		j := i
		for {
			j = (j + 1) & mask
			k := t.keys[j]
			if k == 0 {
				return
			}
			home := int(t.home(k))
			// The entry at j stays if its home lies cyclically in (i, j].
			if (i < j && i < home && home <= j) || (i > j && (i < home || home <= j)) {
				continue
			}
			t.keys[i], t.vals[i] = k, t.vals[j]
			i = j
			break
		}
	}
}
