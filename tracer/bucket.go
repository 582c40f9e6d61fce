package tracer

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// The runtime's profile bucket (runtime/mprof.go, unchanged from go1.19 to
// go1.27): six words, then the stack, innermost first, as runtime.Callers
// returns it (return addresses; inlined calls get one synthetic address
// each). Buckets are never freed, so an address names one bucket for the
// life of the process.
//
//	type bucket struct {
//		next, allnext *bucket
//		typ           bucketType // memProfile = 1
//		hash, size, nstk uintptr
//	}
const (
	bucketHeader     = 6 * 8
	bucketTypeMem    = 1
	maxBucketStack   = 1024 // runtime.maxProfStackDepth (go1.23+; 32 before)
	bucketReadFrames = 64   // first read: header and this many frames
)

// bucketInfo is what one bucket of one target stands for.
type bucketInfo struct {
	stackID int32  // index in targetBuckets.stacks
	size    uint64 // bytes of each object sampled into it
}

// targetBuckets is what has been read of one target's buckets. Buckets
// differing only in size share a stack, and a stack ID, so the analysis
// sees one snapshot.StackStats per stack.
type targetBuckets struct {
	byAddr map[uint64]bucketInfo
	ids    map[string]int32
	stacks [][]uint64
	allocs map[uint64]*allocEstimate // by bucket address
}

// bucket returns the stack and size of the profile bucket at addr in pid,
// reading it from the target on first sight. A bucket that cannot be read
// is not cached: the next snapshot tries again.
func (t *Tracer) bucket(pid uint32, addr uint64) (bucketInfo, error) {
	t.mu.Lock()
	tb := t.buckets[pid]
	if tb == nil {
		tb = &targetBuckets{byAddr: map[uint64]bucketInfo{}, ids: map[string]int32{}}
		t.buckets[pid] = tb
	}
	info, ok := tb.byAddr[addr]
	t.mu.Unlock()
	if ok {
		return info, nil
	}
	pcs, size, err := readBucket(pid, addr)
	if err != nil {
		return bucketInfo{}, err
	}
	key := stackKey(pcs)
	t.mu.Lock()
	defer t.mu.Unlock()
	id, ok := tb.ids[key]
	if !ok {
		id = int32(len(tb.stacks))
		tb.ids[key] = id
		tb.stacks = append(tb.stacks, pcs)
	}
	info = bucketInfo{stackID: id, size: size}
	tb.byAddr[addr] = info
	return info, nil
}

// bucketPCs returns the stack pid's buckets numbered id.
func (t *Tracer) bucketPCs(pid uint32, id int32) []uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tb := t.buckets[pid]; tb != nil && id >= 0 && int(id) < len(tb.stacks) {
		return tb.stacks[id]
	}
	return nil
}

// readBucket reads one memory-profile bucket from the target and returns
// its stack in the form snapshot.StackStats.PCs documents, and its object size.
func readBucket(pid uint32, addr uint64) (pcs []uint64, size uint64, err error) {
	// One read usually covers the whole bucket; it may stop short at the
	// end of a mapping, which is fine as long as the stack is in.
	buf := make([]byte, bucketHeader+bucketReadFrames*8)
	n, err := readTarget(pid, addr, buf)
	if n < bucketHeader {
		return nil, 0, fmt.Errorf("profile bucket %#x: %w", addr, err)
	}
	word := func(i int) uint64 { return binary.LittleEndian.Uint64(buf[i*8:]) }
	typ, size, nstk := word(2), word(4), word(5)
	if typ != bucketTypeMem || size == 0 || nstk == 0 || nstk > maxBucketStack {
		return nil, 0, fmt.Errorf("profile bucket %#x of pid %d: type %d, size %d, %d frames: not a heap-profile bucket", addr, pid, typ, size, nstk)
	}
	if need := bucketHeader + int(nstk)*8; n < need {
		buf = make([]byte, need)
		if n, err = readTarget(pid, addr, buf); n < need {
			return nil, 0, fmt.Errorf("profile bucket %#x: %w", addr, err)
		}
	}
	pcs = make([]uint64, nstk)
	for i := range pcs {
		pcs[i] = word(6 + i)
	}
	// The first entry is a return address like the rest; PCs[0] is by
	// convention the instruction itself (symbolize.Process.Symbolize).
	pcs[0]--
	return pcs, size, nil
}

// readTarget reads buf from the target's memory at addr. It returns how
// many bytes were read, and an error when that is not all of buf.
func readTarget(pid uint32, addr uint64, buf []byte) (int, error) {
	n, err := unix.ProcessVMReadv(int(pid), []unix.Iovec{iovec(buf)}, []unix.RemoteIovec{{Base: uintptr(addr), Len: len(buf)}}, 0)
	if n < 0 {
		n = 0
	}
	if err != nil || n != len(buf) {
		return n, fmt.Errorf("reading %d bytes of pid %d at %#x: %d read: %w", len(buf), pid, addr, n, memErr(err))
	}
	return n, nil
}

func stackKey(pcs []uint64) string {
	b := make([]byte, 0, len(pcs)*8)
	for _, pc := range pcs {
		b = strconv.AppendUint(b, pc, 16)
		b = append(b, ',')
	}
	return string(b)
}
