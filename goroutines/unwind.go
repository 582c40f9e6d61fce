package goroutines

import "encoding/binary"

// stackMemo is a goroutine's unwound stack and the saved registers it was
// unwound from: a goroutine that has not run since (same goid, pc, sp and
// bp) has the same stack, which is then not read again. Leaked goroutines
// never run: their stacks are read once.
type stackMemo struct {
	pc, sp, bp uint64
	stack      []uint64
}

// unwindWaiting sets, for each waiting goroutine, G.Stack from its saved
// (pc, sp, bp): the top MaxStackRead bytes of
// every stack not unwound before are read in batches, then each is walked
// by frame pointers within what was read.
func (r *Reader) unwindWaiting(s *Snapshot) error {
	memo := r.memoNext
	clear(memo)
	defer func() { r.memo, r.memoNext = memo, r.memo }()
	var idx []int
	var addrs []uint64
	var bufs [][]byte
	flush := func() error {
		ok := make([]bool, len(bufs))
		if err := r.mem.ReadBatch(addrs, bufs, ok); err != nil {
			return err
		}
		for k, i := range idx {
			g := &s.Goroutines[i]
			pc, sp, bp := g.sched[0], g.sched[1], g.sched[2]
			if !ok[k] {
				s.Truncated[TruncUnread]++
				g.Stack = []uint64{pc}
				continue
			}
			var why string
			g.Stack, why = walkFrames(pc, bp, addrs[k], bufs[k], r.cfg.MaxDepth)
			if why != "" {
				s.Truncated[why]++
			} else {
				memo[g.ID] = stackMemo{pc, sp, bp, g.Stack}
			}
		}
		idx, addrs, bufs = idx[:0], addrs[:0], bufs[:0]
		return nil
	}
	for i := range s.Goroutines {
		g := &s.Goroutines[i]
		if !g.waiting {
			continue
		}
		pc, sp, bp := g.sched[0], g.sched[1], g.sched[2]
		if m, ok := r.memo[g.ID]; ok && m.pc == pc && m.sp == sp && m.bp == bp {
			g.Stack = m.stack
			memo[g.ID] = m
			s.StacksReused++
			continue
		}
		if sp < g.StackLo || sp >= g.StackHi {
			s.Truncated[TruncUnread]++
			g.Stack = []uint64{pc}
			continue
		}
		n := min(g.StackHi-sp, uint64(r.cfg.MaxStackRead))
		idx = append(idx, i)
		addrs = append(addrs, sp)
		bufs = append(bufs, make([]byte, n))
		if len(bufs) == iovMax {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(bufs) > 0 {
		return flush()
	}
	return nil
}

// walkFrames follows the frame-pointer chain from bp through mem (a copy of
// the stack from address base): each frame record holds the caller's frame
// pointer at fp and the return address at fp+8 (amd64; the arm64 Go ABI
// keeps the same record). It stops at a zero or non-increasing frame
// pointer (the chain's end or a torn read), and says why if it stopped
// early.
func walkFrames(pc, bp, base uint64, mem []byte, maxDepth int) ([]uint64, string) {
	stack := []uint64{pc}
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
