package retention

import (
	"encoding/binary"
	"fmt"
)

// KindChannel is a channel whose buffer holds the next hop: the hchan
// and its buffer, one hop ("channel buffer, 4096 of 4096 slots").
const KindChannel = "channel buffer"

// nameChannels folds each hchan -> buffer pair of hops into one channel
// hop. A heap hop is a channel when its object is an hchan by layout:
// the pointer to the next hop sits at hchan.buf, the next hop is that
// buffer, qcount <= dataqsiz, and dataqsiz elements of elemsize fit the
// buffer's object. Anything else stays a heap hop.
func (st *search) nameChannels(hops []Hop) []Hop {
	l := st.layout
	if l.HchanSize == 0 {
		return hops
	}
	var addrs []uint64
	var idx []int
	for i := 0; i+1 < len(hops); i++ {
		if h := hops[i]; h.Kind == KindHeap && h.Field == l.HchanBuf && h.Size >= l.HchanSize && h.Size < l.HchanSize+64 && hops[i+1].Kind == KindHeap {
			addrs, idx = append(addrs, h.Addr), append(idx, i)
		}
	}
	if len(addrs) == 0 {
		return hops
	}
	bufs := make([][]byte, len(addrs))
	for i := range bufs {
		bufs[i] = make([]byte, l.HchanSize)
	}
	ok := make([]bool, len(addrs))
	if err := st.mem.ReadBatch(addrs, bufs, ok); err != nil {
		return hops
	}
	drop := map[int]bool{}
	for k, i := range idx {
		if !ok[k] {
			continue
		}
		b := bufs[k]
		q, n := binary.LittleEndian.Uint64(b[l.HchanQcount:]), binary.LittleEndian.Uint64(b[l.HchanDataqsiz:])
		buf, elem := binary.LittleEndian.Uint64(b[l.HchanBuf:]), uint64(binary.LittleEndian.Uint16(b[l.HchanElemsize:]))
		next := hops[i+1]
		if n == 0 || q > n || elem == 0 || buf < next.Addr || buf >= next.Addr+next.Size || n*elem > next.Addr+next.Size-buf {
			continue
		}
		hops[i].Kind, hops[i].Name = KindChannel, fmt.Sprintf("channel buffer, %d of %d slots", q, n)
		// The pointer to what follows sits in the buffer, at this offset.
		hops[i].Field = next.Addr + next.Field - buf
		drop[i+1] = true
	}
	out := hops[:0]
	for i, h := range hops {
		if !drop[i] {
			out = append(out, h)
		}
	}
	return out
}
