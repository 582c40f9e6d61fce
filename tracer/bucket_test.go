package tracer

import (
	"os"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/leakscope/leakscope/snapshot"
)

// addrOf is the address of a fake bucket in this process, which
// readBucket reads like a target's.
func addrOf(b []uint64) uint64 { return uint64(uintptr(unsafe.Pointer(&b[0]))) }

func fakeBucket(typ, size uint64, stk ...uint64) []uint64 {
	return append([]uint64{0, 0, typ, 0x1234, size, uint64(len(stk))}, stk...)
}

func TestReadBucket(t *testing.T) {
	pid := uint32(os.Getpid())
	b := fakeBucket(bucketTypeMem, 1024, 0x401001, 0x402002, 0x403003)
	pcs, size, err := readBucket(pid, addrOf(b))
	if err != nil {
		t.Fatal(err)
	}
	// The first entry becomes the call instruction; the rest stay return
	// addresses, as symbolize.Process.Symbolize takes them.
	if want := []uint64{0x401000, 0x402002, 0x403003}; !slices.Equal(pcs, want) || size != 1024 {
		t.Errorf("read %#x, size %d; want %#x, 1024", pcs, size, want)
	}

	// Deeper than the first read: a second read fetches the rest.
	deep := make([]uint64, 300)
	for i := range deep {
		deep[i] = 0x500000 + uint64(i)
	}
	b = fakeBucket(bucketTypeMem, 64, deep...)
	pcs, _, err = readBucket(pid, addrOf(b))
	if err != nil || len(pcs) != 300 || pcs[299] != deep[299] || pcs[0] != deep[0]-1 {
		t.Errorf("300-frame bucket: %d frames, err %v", len(pcs), err)
	}

	for _, c := range []struct {
		name string
		b    []uint64
	}{
		{"block-profile bucket", fakeBucket(2, 64, 0x401001)},
		{"zero size", fakeBucket(bucketTypeMem, 0, 0x401001)},
		{"no frames", fakeBucket(bucketTypeMem, 64)},
		{"too many frames", append(fakeBucket(bucketTypeMem, 64), make([]uint64, 64)...)},
	} {
		if c.name == "too many frames" {
			c.b[5] = maxBucketStack + 1
		}
		if _, _, err := readBucket(pid, addrOf(c.b)); err == nil || !strings.Contains(err.Error(), "not a heap-profile bucket") {
			t.Errorf("%s: err %v, want a refusal", c.name, err)
		}
	}
	if _, _, err := readBucket(pid, 0x10); err == nil {
		t.Error("unmapped address: no error")
	}
}

// Buckets that differ only in object size share their stack: one
// snapshot.StackStats, with each bucket's counts turned into bytes at its size.
func TestBucketsOfOneStackMerge(t *testing.T) {
	pid := uint32(os.Getpid())
	tr := &Tracer{buckets: map[uint32]*targetBuckets{}}
	small := fakeBucket(bucketTypeMem, 64, 0x401001, 0x402002)
	large := fakeBucket(bucketTypeMem, 4096, 0x401001, 0x402002)
	other := fakeBucket(bucketTypeMem, 64, 0x401001, 0x409009)
	s := &snapshot.Snapshot{PID: pid, Stacks: map[int32]*snapshot.StackStats{}}
	for _, c := range []struct {
		b      []uint64
		counts snapshot.StackStats
	}{
		{small, snapshot.StackStats{Allocs: 10, Frees: 4, LiveObjects: 6, OldestAllocNS: 500}},
		{large, snapshot.StackStats{Allocs: 3, Frees: 1, LiveObjects: 2, OldestAllocNS: 300}},
		{other, snapshot.StackStats{Allocs: 1, LiveObjects: 1, OldestAllocNS: 100}},
	} {
		info, err := tr.bucket(pid, addrOf(c.b))
		if err != nil {
			t.Fatal(err)
		}
		c.counts.LiveAges = make([]uint64, maxLiveAge+1)
		c.counts.LiveAges[1] = c.counts.LiveObjects
		mergeBucket(s, info, &c.counts)
	}
	if len(s.Stacks) != 2 {
		t.Fatalf("%d stacks, want 2", len(s.Stacks))
	}
	st := s.Stacks[0]
	want := snapshot.StackStats{Allocs: 13, AllocBytes: 10*64 + 3*4096, Frees: 5, FreeBytes: 4*64 + 4096,
		LiveObjects: 8, LiveBytes: 6*64 + 2*4096, OldestAllocNS: 300}
	if st.Allocs != want.Allocs || st.AllocBytes != want.AllocBytes || st.Frees != want.Frees ||
		st.FreeBytes != want.FreeBytes || st.LiveObjects != want.LiveObjects || st.LiveBytes != want.LiveBytes ||
		st.OldestAllocNS != want.OldestAllocNS || st.LiveAges[1] != 8 {
		t.Errorf("merged stack: %+v\nwant %+v", *st, want)
	}
	if got := tr.bucketPCs(pid, 1); !slices.Equal(got, []uint64{0x401000, 0x409009}) {
		t.Errorf("second stack %#x", got)
	}
	// A second read of a known bucket comes from the cache: it still
	// answers after the memory changed.
	small[4] = 0
	if info, err := tr.bucket(pid, addrOf(small)); err != nil || info.size != 64 {
		t.Errorf("cached bucket: %+v, %v", info, err)
	}
}
