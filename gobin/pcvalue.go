package gobin

// pcValue returns the value that the pc-value table at off in pctab gives
// the link-time address target of the function starting at entry, or -1 if
// there is no table or it does not cover target. It follows runtime.pcvalue
// in non-strict mode.
//
// A table is a sequence of (value delta, pc delta) pairs of varints,
// starting from value -1 at the function entry; the value delta is
// zig-zag encoded and the pc delta counts instructions of the minimum size.
func (t *pclntab) pcValue(off uint32, entry, target uint64) int32 {
	if off == 0 || uint64(off) >= uint64(len(t.pctab)) {
		return -1
	}
	p := t.pctab[off:]
	pc := entry
	val := int32(-1)
	for {
		var ok bool
		p, ok = t.step(p, &pc, &val, pc == entry)
		if !ok {
			return -1
		}
		if target < pc {
			return val
		}
	}
}

// step decodes one pair, like runtime.step. A zero value delta ends the
// table, except in the first pair, where it is a real delta.
func (t *pclntab) step(p []byte, pc *uint64, val *int32, first bool) ([]byte, bool) {
	uvdelta, n := uvarint32(p)
	if n == 0 || (uvdelta == 0 && !first) {
		return nil, false
	}
	p = p[n:]
	*val += int32(-(uvdelta & 1) ^ (uvdelta >> 1))
	pcdelta, n := uvarint32(p)
	if n == 0 {
		return nil, false
	}
	p = p[n:]
	// The runtime multiplies in uint32 too.
	*pc += uint64(pcdelta * t.quantum)
	return p, true
}

// uvarint32 decodes a little-endian base-128 varint like runtime.readvarint,
// which keeps the low 32 bits. It returns n == 0 if p ends first or the
// varint is longer than the 5 bytes a uint32 needs.
func uvarint32(p []byte) (v uint32, n int) {
	var shift uint
	for n < len(p) && n < 5 {
		b := p[n]
		n++
		v |= uint32(b&0x7f) << shift
		if b&0x80 == 0 {
			return v, n
		}
		shift += 7
	}
	return 0, 0
}
