package goroutines

import "encoding/binary"

// stackBufBytes is the most memory the stacks of one batch are read into
// (at least Config.MaxStackRead), reused from read to read.
const stackBufBytes = 1 << 20

// stackBufSize is the stack buffer that a read of waiting goroutines
// needs: MaxStackRead bytes each, within [MaxStackRead, stackBufBytes]. A
// target with a few goroutines costs kilobytes, not stackBufBytes (50
// watched targets held 52 MiB of stack buffers).
func stackBufSize(waiting, maxStackRead int) int {
	return max(maxStackRead, min(stackBufBytes, waiting*maxStackRead))
}

// unwindWaiting sets, for each waiting goroutine, G.Stack from its saved
// (pc, sp, bp): the top MaxStackRead bytes of every stack not unwound
// before are read in batches, then each is walked by frame pointers within
// what was read.
func (r *Reader) unwindWaiting(s *Snapshot) error {
	waiting := 0
	for i := range s.Goroutines {
		if s.Goroutines[i].waiting {
			waiting++
		}
	}
	if n := stackBufSize(waiting, r.cfg.MaxStackRead); len(r.stackBuf) < n {
		r.stackBuf = make([]byte, n)
	}
	var idx []int
	var addrs []uint64
	var bufs [][]byte
	var scratch []uint64
	off := 0
	flush := func() error {
		ok := make([]bool, len(bufs))
		if err := r.mem.ReadBatch(addrs, bufs, ok); err != nil {
			return err
		}
		for k, i := range idx {
			g := &s.Goroutines[i]
			pc, sp, bp := g.sched[0], g.sched[1], g.sched[2]
			kg := &r.known[g.slot]
			kg.stack = nil
			if !ok[k] {
				s.Truncated[TruncUnread]++
				g.Stack = r.intern([]uint64{pc})
				continue
			}
			var why string
			scratch, why = walkFrames(scratch[:0], pc, bp, addrs[k], bufs[k], r.cfg.MaxDepth)
			g.Stack = r.intern(scratch)
			if why != "" {
				s.Truncated[why]++
			} else {
				kg.pc, kg.sp, kg.bp, kg.stack = pc, sp, bp, g.Stack
			}
		}
		idx, addrs, bufs, off = idx[:0], addrs[:0], bufs[:0], 0
		return nil
	}
	for i := range s.Goroutines {
		g := &s.Goroutines[i]
		if !g.waiting {
			continue
		}
		pc, sp, bp := g.sched[0], g.sched[1], g.sched[2]
		if kg := &r.known[g.slot]; kg.stack != nil && kg.pc == pc && kg.sp == sp && kg.bp == bp {
			g.Stack = kg.stack
			s.StacksReused++
			continue
		}
		if sp < g.StackLo || sp >= g.StackHi {
			s.Truncated[TruncUnread]++
			g.Stack = r.intern([]uint64{pc})
			continue
		}
		n := int(min(g.StackHi-sp, uint64(r.cfg.MaxStackRead)))
		if off+n > len(r.stackBuf) || len(bufs) == iovMax {
			if err := flush(); err != nil {
				return err
			}
		}
		idx = append(idx, i)
		addrs = append(addrs, sp)
		bufs = append(bufs, r.stackBuf[off:off+n:off+n])
		off += n
	}
	if len(bufs) > 0 {
		return flush()
	}
	return nil
}

// walkFrames appends to dst pc then the return addresses found by
// following the frame-pointer chain from bp through mem (a copy of the
// stack from address base): each frame record holds the caller's frame
// pointer at fp and the return address at fp+8 (amd64; the arm64 Go ABI
// keeps the same record). It stops at a zero or non-increasing frame
// pointer (the chain's end or a torn read), and says why if it stopped
// early.
func walkFrames(dst []uint64, pc, bp, base uint64, mem []byte, maxDepth int) ([]uint64, string) {
	stack := append(dst, pc)
	for fp := bp; fp != 0; {
		if len(stack) >= maxDepth {
			return stack, TruncDepth
		}
		if fp < base || fp-base+16 > uint64(len(mem)) {
			return stack, TruncOutside
		}
		off := fp - base
		next := binary.LittleEndian.Uint64(mem[off:])
		ret := binary.LittleEndian.Uint64(mem[off+8:])
		if ret == 0 {
			break
		}
		stack = append(stack, ret)
		if next != 0 && next <= fp {
			break
		}
		fp = next
	}
	return stack, ""
}
