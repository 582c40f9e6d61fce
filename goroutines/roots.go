package goroutines

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Roots locates runtime.allgs (a []*g: pointer, length, capacity) and
// runtime.allglen (its length, written atomically) at link-time addresses.
type Roots struct {
	Allgs, Allglen uint64
	How            string // "symbol table", or how decoding found them
}

// ErrNoRoots means runtime.allgs could not be located.
var ErrNoRoots = errors.New("runtime.allgs not found")

// CandidateRoots returns where allgs and allglen may be: the symbol table's
// answer when there is one, else every pair the code of runtime.allgadd
// suggests (stripped binaries keep no variable names). allgadd appends to
// allgs (so it reads the slice's pointer and its length or capacity, in
// pointer-holding .bss/.data) and stores allglen (a uintptr, in
// .noptrbss/.noptrdata). Several pairs can remain (allglock sits next to
// allglen): VerifyRoots picks the one a live process confirms.
func CandidateRoots(exe Executable) ([]Roots, error) {
	if a, _, ok := exe.DataSymbol("runtime.allgs"); ok {
		if l, _, ok := exe.DataSymbol("runtime.allglen"); ok {
			return []Roots{{Allgs: a, Allglen: l, How: "symbol table"}}, nil
		}
	}
	refs, err := exe.GlobalRefs("runtime.allgadd")
	if err != nil {
		return nil, fmt.Errorf("%w: no symbol, and runtime.allgadd cannot be decoded: %w", ErrNoRoots, err)
	}
	seen := map[uint64]bool{}
	for _, r := range refs {
		seen[r] = true
	}
	var slicesAt, lens []uint64
	for _, r := range uniqueSorted(refs) {
		sec := exe.SectionName(r)
		switch {
		case (sec == ".bss" || sec == ".data") && (seen[r+8] || seen[r+16]) && !seen[r-8]:
			slicesAt = append(slicesAt, r)
		case strings.HasPrefix(sec, ".noptr"):
			lens = append(lens, r)
		}
	}
	var out []Roots
	for _, a := range slicesAt {
		for _, l := range lens {
			out = append(out, Roots{Allgs: a, Allglen: l, How: fmt.Sprintf("decoded from runtime.allgadd (%d candidate pairs)", len(slicesAt)*len(lens))})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: runtime.allgadd refers to no slice and length in data", ErrNoRoots)
	}
	return out, nil
}

func uniqueSorted(v []uint64) []uint64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return slices.Compact(v)
}

// allgsHeader is what the roots hold at one moment.
type allgsHeader struct {
	ptr, len, cap, allglen uint64
}

// readRoots reads the slice header and allglen at run-time addresses.
func readRoots(mem Memory, r Roots, bias uint64) (allgsHeader, error) {
	var hdr [24]byte
	var l [8]byte
	ok := []bool{false, false}
	if err := mem.ReadBatch([]uint64{r.Allgs + bias, r.Allglen + bias}, [][]byte{hdr[:], l[:]}, ok); err != nil {
		return allgsHeader{}, err
	}
	if !ok[0] || !ok[1] {
		return allgsHeader{}, fmt.Errorf("cannot read allgs at %#x or allglen at %#x", r.Allgs+bias, r.Allglen+bias)
	}
	return allgsHeader{
		ptr: binary.LittleEndian.Uint64(hdr[0:]), len: binary.LittleEndian.Uint64(hdr[8:]),
		cap: binary.LittleEndian.Uint64(hdr[16:]), allglen: binary.LittleEndian.Uint64(l[:]),
	}, nil
}

// plausible checks the header alone: allgs.len == allglen (both are
// written under allglock; a read between the two writes is retried by the
// caller), a capacity no smaller, and at least the main goroutine.
func (h allgsHeader) plausible(limit uint64) error {
	switch {
	case h.ptr == 0 || h.ptr%8 != 0:
		return fmt.Errorf("allgs pointer %#x is not a pointer", h.ptr)
	case h.len == 0 || h.len > limit:
		return fmt.Errorf("allgs length %d is implausible", h.len)
	case h.cap < h.len:
		return fmt.Errorf("allgs capacity %d is below its length %d", h.cap, h.len)
	case h.len != h.allglen:
		return fmt.Errorf("allgs length %d differs from allglen %d", h.len, h.allglen)
	}
	return nil
}
