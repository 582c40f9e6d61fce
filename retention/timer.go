package retention

import (
	"encoding/binary"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// A time.AfterFunc timer keeps its closure alive until it fires: the
// runtime's timer heap of a P (runtime.allp -> p -> timers) points at the
// timer, the timer's arg at the closure. The scheduler's structures are
// dropped as runtime-internal holders, so the timer itself is the root a
// user can act on (stop it). It is recognised in the heap by its
// function, time.goFunc (AfterFunc's only), read through the funcval its
// f field points at: a wrong offset or a stray word finds no timer, never
// a false one. Only armed timers count (in a timer heap, not stopped).

// timerRoot tells whether the heap slot at base (obj: its bytes, at least
// up to the timer's end) is an armed time.AfterFunc timer, and returns its
// root hop pointing at the closure (Name, next and size left to the caller).
func (st *search) timerRoot(base uint64, obj []byte) (Hop, bool) {
	l := st.layout
	in := l.TimerInObject
	if in == 0 || uint64(len(obj)) < in+l.TimerSize || uint64(len(obj)) > 2*(in+l.TimerSize) {
		return Hop{}, false
	}
	t := obj[in:]
	if !armed(l, uint64(t[l.TimerState])) {
		return Hop{}, false
	}
	fv := binary.LittleEndian.Uint64(t[l.TimerArg+8:]) // arg's data word: the func value
	if fv < 4096 || !st.isGoFunc(binary.LittleEndian.Uint64(t[l.TimerF:])) {
		return Hop{}, false
	}
	field := in + l.TimerArg + 8
	return Hop{Kind: KindTimer, Addr: base, Size: uint64(len(obj)), Field: field, at: base + field,
		when: int64(binary.LittleEndian.Uint64(t[l.TimerWhen:])), fv: fv}, true
}

// armed tells from a timer's status (before 1.23) or state bits whether
// it sits in a timer heap, waiting to fire.
func armed(l *HeapLayout, state uint64) bool {
	if l.TimerHeaped != 0 {
		return state&l.TimerHeaped != 0 && state&l.TimerZombie == 0
	}
	return state < 64 && l.TimerDeadStatus&(1<<state) == 0
}

// isGoFunc tells whether f (a func value: the address of a funcval) is
// time.goFunc's, the function every AfterFunc timer runs. Its funcval is
// static: only a value inside the binary's sections is read, once.
func (st *search) isGoFunc(f uint64) bool {
	if f < st.bias || st.exe.SectionName(f-st.bias) == "" {
		return false
	}
	if v, ok := st.goFuncs[f]; ok {
		return v
	}
	if len(st.goFuncs) >= 4096 { // a flood of stray words: stop reading
		return false
	}
	words, ok, err := readWords(st.mem, []uint64{f})
	is := false
	if err == nil && ok[0] && words[0] >= st.bias {
		name, entry, found := st.exe.FuncAt(words[0] - st.bias)
		is = found && name == "time.goFunc" && entry == words[0]-st.bias
	}
	st.goFuncs[f] = is
	return is
}

// nameTimer names a timer root by the closure's function (which names
// the function that wrote it), where it is written, and when the timer
// fires. CreatedBy stays empty: it is a goroutine's creation site.
func (st *search) nameTimer(h *Hop) {
	h.Name = "time.AfterFunc closure"
	words, ok, err := readWords(st.mem, []uint64{h.fv})
	if err == nil && ok[0] && words[0] >= st.bias {
		if name, _, found := st.exe.FuncAt(words[0] - st.bias); found {
			h.Name += " " + name // main.proxy.func1: written in main.proxy
			_, h.File, h.Line = st.exe.Position(words[0] - st.bias)
		}
	}
	var now unix.Timespec
	if h.when > 0 && unix.ClockGettime(unix.CLOCK_MONOTONIC, &now) == nil { // the runtime's nanotime
		h.FiresIn = time.Duration(h.when - now.Nano())
	}
}

// seedTimers visits the closure of every armed AfterFunc timer of the
// cached heap, naming the timer as its root.
func (st *search) seedTimers(m *marks, visit func(i int, slot, from uint64) bool) {
	l := st.layout
	if l.TimerInObject == 0 {
		return
	}
	for si := range st.x.Spans {
		s := &st.x.Spans[si]
		if s.NoScan || s.Elemsize < l.TimerInObject+l.TimerSize || s.Elemsize > 2*(l.TimerInObject+l.TimerSize) {
			continue
		}
		if time.Now().After(st.deadline) {
			st.res.Cut = true
			return
		}
		for slot := uint64(0); slot < s.Nelems; slot++ {
			if !s.Allocated(slot) {
				continue
			}
			base := s.Base + slot*s.Elemsize
			obj := st.cached(s, base)
			if obj == nil {
				continue
			}
			h, ok := st.timerRoot(base, obj)
			if !ok {
				continue
			}
			i, cslot, ok := st.x.lookupIndex(h.fv)
			if !ok || m.reached(i, cslot) {
				continue
			}
			cs := &st.x.Spans[i]
			h.next, h.size = cs.Base+cslot*cs.Elemsize, cs.Elemsize
			visit(i, cslot, rootParent)
			m.roots[h.next] = edge{hop: h}
		}
	}
}

// cached is the slot at base of span s from the heap cache, nil if not
// read or across two pieces.
func (st *search) cached(s *Span, base uint64) []byte {
	piece := s.Base + (base-s.Base)/chunk*chunk
	b, ok := st.cache[piece]
	if !ok || base-piece+s.Elemsize > uint64(len(b)) {
		return nil
	}
	return b[base-piece : base-piece+s.Elemsize]
}

// describeTimer is the summary's word on a timer root.
func describeTimer(h Hop) string {
	switch {
	case h.FiresIn > 0:
		return fmt.Sprintf("timer, fires in %s", h.FiresIn.Round(time.Second))
	case h.FiresIn < 0:
		return "timer, due"
	}
	return "timer"
}

// cutAtTimer makes an armed AfterFunc timer on the chain its root: what
// leads to it is the runtime's timer heap (named by segment offset when
// the binary is stripped, so not dropped as runtime-internal), or a
// variable keeping the *time.Timer, which the armed timer does not need.
func (st *search) cutAtTimer(chain []edge) []edge {
	l := st.layout
	field := l.TimerInObject + l.TimerArg + 8
	for k := len(chain) - 1; k > 0; k-- {
		e := chain[k]
		if e.hop.Kind != KindHeap || e.hop.Field != field || e.hop.Size < l.TimerInObject+l.TimerSize {
			continue
		}
		obj := make([]byte, e.hop.Size)
		ok := []bool{false}
		if err := st.mem.ReadBatch([]uint64{e.hop.Addr}, [][]byte{obj}, ok); err != nil || !ok[0] {
			continue
		}
		if h, ok := st.timerRoot(e.hop.Addr, obj); ok && h.at == e.hop.at {
			h.next, h.size = e.hop.next, e.hop.size
			return append([]edge{{hop: h}}, chain[k+1:]...)
		}
	}
	return chain
}

// toP tells whether the word w, at `at` in the heap slot holder of span
// hs, is a timer's pointer to its P (pp, or ts into p.timers): not a
// holder a program controls, and the way from a kept *time.Timer into
// every pointer the scheduler holds.
func (st *search) toP(hs *Span, holder, at, w uint64) bool {
	l := st.layout
	timer := l.TimerInObject + l.TimerSize
	if l.PSize == 0 || at-holder != l.TimerInObject+l.TimerP || hs.Elemsize < timer || hs.Elemsize > 2*timer {
		return false
	}
	ps := st.x.spanOf(w)
	if ps == nil || ps.Elemsize < l.PSize || ps.Elemsize > 2*l.PSize {
		return false
	}
	// A p is large enough for an allocation header before it (1.22).
	off := (w - ps.Base) % ps.Elemsize
	return off == l.PTimers || off == l.PTimers+l.MallocHeaderSize
}
