package symbolize

import (
	"fmt"

	"github.com/leakscope/leakscope/gobin"
)

// LoadBias returns what the loader added to the link-time addresses of the
// file mapped by m: run-time address = link-time address + bias. It is 0
// for fixed-address (ET_EXEC) executables mapped normally and the load
// base for PIE ones.
//
// The kernel maps a segment's file bytes from its page-aligned offset at
// bias + its page-aligned address, and a segment's address and offset are
// congruent modulo the page size, so file offset o is at link-time address
// o + (Vaddr - Offset) and at run-time address Start + (o - m.Offset).
// This holds for any mapping inside the segment, even one split off by
// mprotect, and needs no page size.
//
// The segment is the one whose file range holds m.Offset; where two share
// a page of the file, the one matching m's execute permission wins, then
// the one starting closest. Pass executable mappings: a read-only segment
// and a RELRO segment can map the same file page at different addresses,
// which the offset alone cannot tell apart, but code is in one segment.
func LoadBias(m Mapping, segs []gobin.Segment) (uint64, error) {
	exec := len(m.Perms) > 2 && m.Perms[2] == 'x'
	var best *gobin.Segment
	better := func(s *gobin.Segment) bool {
		if best == nil {
			return true
		}
		if (s.Exec == exec) != (best.Exec == exec) {
			return s.Exec == exec
		}
		return s.Offset > best.Offset // the closest start wins
	}
	for i := range segs {
		s := &segs[i]
		// A mapping starts at the page holding the segment's offset, so
		// accept offsets from there (rounded down by the largest page
		// size, not knowing the target's) to the segment's end.
		if s.Filesz == 0 || m.Offset >= s.Offset+s.Filesz || m.Offset < s.Offset&^(maxPageSize-1) {
			continue
		}
		if better(s) {
			best = s
		}
	}
	if best == nil {
		return 0, fmt.Errorf("no segment holds file offset %#x of mapping %#x-%#x", m.Offset, m.Start, m.End)
	}
	return m.Start - m.Offset - (best.Vaddr - best.Offset), nil
}

// maxPageSize is the largest page size Linux uses (arm64, ppc64 with 64 KiB
// pages); segment alignment is at least this in practice.
const maxPageSize = 1 << 16
