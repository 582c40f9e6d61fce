package goroutines

// g structs sit side by side in the runtime's spans (a size class of 480
// bytes in go1.26 holds 17 per 8 KiB span), so the g structs of a process
// are read as a few large runs of memory rather than one small read each:
// process_vm_readv pins the remote pages of every buffer it is given, and
// a million small buffers cost far more than the bytes between them.
const (
	// maxRunGap is the most memory between two g structs read as one run:
	// the rest of a g beyond the fields read, plus a little.
	maxRunGap = 512
	// maxRunBytes bounds one run (one remote buffer).
	maxRunBytes = 256 << 10
	// runBufBytes is the most memory a batch of runs is read into, reused.
	runBufBytes = 4 << 20
	// maxUserAddr: no user address is above 2^57 (5-level paging); larger
	// "pointers" are garbage and are not read.
	maxUserAddr = 1 << 57
)

// gRun is a run of memory from the address of sorted[first] holding the
// leading span of the g structs sorted[first:end].
type gRun struct {
	addr       uint64
	first, end int
	bytes      uint64
}

// nextRun is the run of sorted g pointers that starts at sorted[i]: it goes
// on while the next g starts at most maxRunGap after the previous one's
// span and the run stays within maxRunBytes.
func nextRun(sorted []uint64, i int, span uint64) gRun {
	lo := sorted[i]
	j := i + 1
	for j < len(sorted) && sorted[j] < maxUserAddr && sorted[j] <= sorted[j-1]+span+maxRunGap && sorted[j]+span-lo <= maxRunBytes {
		j++
	}
	return gRun{addr: lo, first: i, end: j, bytes: sorted[j-1] + span - lo}
}

// readRuns reads the leading span bytes of every g at sorted (ascending:
// allgs is mostly in address order already, since g structs are allocated
// in order from a span, which pdqsort sorts in about linear time)
// and calls each(addr, b) for each with the bytes read, or b nil when the
// g could not be read. A run that fails as a whole (a garbage pointer among
// real ones, memory unmapped meanwhile) is read again one g at a time, so
// that only the unreadable ones are lost.
func (r *Reader) readRuns(sorted []uint64, span uint64, each func(addr uint64, b []byte)) error {
	// Every run spans at most span+maxRunGap bytes per g, so a buffer of
	// that many per g holds them all: a target with a few goroutines
	// costs kilobytes, not runBufBytes (50 targets held 200 MiB).
	need := min(uint64(runBufBytes), max(uint64(len(sorted))*(span+maxRunGap), span))
	if uint64(cap(r.runBuf)) < need {
		r.runBuf = make([]byte, need)
	}
	buf := r.runBuf[:need]
	var runs []gRun
	var addrs []uint64
	var bufs [][]byte
	ok := make([]bool, iovMax)
	i := 0
	for i < len(sorted) && sorted[i] == 0 {
		each(0, nil)
		i++
	}
	for i < len(sorted) {
		runs, addrs, bufs = runs[:0], addrs[:0], bufs[:0]
		off := uint64(0)
		for i < len(sorted) && len(runs) < iovMax {
			if sorted[i] >= maxUserAddr {
				each(sorted[i], nil)
				i++
				continue
			}
			run := nextRun(sorted, i, span)
			if off+run.bytes > uint64(len(buf)) {
				break
			}
			runs = append(runs, run)
			addrs = append(addrs, run.addr)
			bufs = append(bufs, buf[off:off+run.bytes])
			off += run.bytes
			i = run.end
		}
		if err := r.mem.ReadBatch(addrs, bufs, ok[:len(runs)]); err != nil {
			return err
		}
		for k, run := range runs {
			if !ok[k] && run.end-run.first == 1 {
				each(run.addr, nil)
				continue
			}
			if !ok[k] {
				if err := r.readOneByOne(sorted[run.first:run.end], span, each); err != nil {
					return err
				}
				continue
			}
			for _, a := range sorted[run.first:run.end] {
				each(a, bufs[k][a-run.addr:a-run.addr+span])
			}
		}
	}
	return nil
}

// readOneByOne reads the g structs at addrs one buffer each.
func (r *Reader) readOneByOne(addrs []uint64, span uint64, each func(addr uint64, b []byte)) error {
	for start := 0; start < len(addrs); start += iovMax {
		part := addrs[start:min(start+iovMax, len(addrs))]
		one := make([]byte, span*uint64(len(part)))
		bufs := make([][]byte, len(part))
		for i := range part {
			bufs[i] = one[uint64(i)*span : uint64(i+1)*span]
		}
		ok := make([]bool, len(part))
		if err := r.mem.ReadBatch(part, bufs, ok); err != nil {
			return err
		}
		for i, a := range part {
			if ok[i] {
				each(a, bufs[i])
			} else {
				each(a, nil)
			}
		}
	}
	return nil
}
