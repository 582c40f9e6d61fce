package goroutines

import (
	"slices"
	"unsafe"
)

// knownG is what the reader remembers of one goroutine between reads: the
// read that last saw it (a second g with its goid in the same read is a
// duplicate), and its unwound stack with the saved registers it was
// unwound from. A goroutine that has not run since (same pc, sp and bp)
// has the same stack, which is then not read again: leaked goroutines
// never run, so their stacks are read once.
type knownG struct {
	id         uint64
	epoch      uint32
	pc, sp, bp uint64
	stack      []uint64 // nil: not unwound, or unwound only in part
}

// remember finds or adds the goroutine id for this read (r.epoch); dup is
// true if this read has seen it already.
func (r *Reader) remember(id uint64) (slot int32, dup bool) {
	if k, ok := r.byGoid.get(id); ok {
		if r.known[k].epoch == r.epoch {
			return k, true
		}
		r.known[k].epoch = r.epoch
		return k, false
	}
	k := int32(len(r.known))
	r.known = append(r.known, knownG{id: id, epoch: r.epoch})
	r.byGoid.put(id, k)
	return k, false
}

// forget drops the goroutines this read did not see once they are more
// than the live ones (live of them), so that what is remembered stays
// within twice the goroutines read (and goids are never reused, so an
// ended goroutine is not seen again).
func (r *Reader) forget(live int) {
	if len(r.known) <= 2*live+1024 {
		return
	}
	r.known = slices.DeleteFunc(r.known, func(k knownG) bool { return k.epoch != r.epoch })
	if cap(r.known) > 4*len(r.known)+1024 {
		r.known = slices.Clone(r.known) // let go of a drained burst's memory
	}
	r.byGoid = newGoidIndex(len(r.known))
	for i, k := range r.known {
		r.byGoid.put(k.id, int32(i))
	}
}

// maxStacks bounds the distinct stacks kept; beyond it stacks are copied
// but not shared.
const maxStacks = 1 << 16

// intern returns a copy of stack that goroutines stopped at the same place
// share.
func (r *Reader) intern(stack []uint64) []uint64 {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(stack))), 8*len(stack))
	if s, ok := r.stacks[string(b)]; ok {
		return s
	}
	s := slices.Clone(stack)
	if len(r.stacks) >= maxStacks {
		clear(r.stacks)
	}
	r.stacks[string(b)] = s
	return s
}
