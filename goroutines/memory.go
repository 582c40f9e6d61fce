package goroutines

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Memory reads a target's memory. Reads race with the running program.
type Memory interface {
	// ReadBatch fills each bufs[i] from the target at addrs[i] and reports,
	// per buffer, whether it was read in full.
	ReadBatch(addrs []uint64, bufs [][]byte, ok []bool) error
}

// ErrGone means the target process no longer exists.
var ErrGone = errors.New("target process exited")

// iovMax is the kernel's UIO_MAXIOV: the most iovecs in one call.
const iovMax = 1024

// ProcessMemory reads another process's memory with process_vm_readv,
// up to iovMax buffers per system call.
type ProcessMemory struct{ PID int }

// ReadBatch implements Memory. A buffer that cannot be read (unmapped,
// freed meanwhile) is marked not ok and the rest are still read.
func (m ProcessMemory) ReadBatch(addrs []uint64, bufs [][]byte, ok []bool) error {
	local := make([]unix.Iovec, 0, iovMax)
	remote := make([]unix.RemoteIovec, 0, iovMax)
	for start := 0; start < len(bufs); {
		end := min(start+iovMax, len(bufs))
		local, remote = local[:0], remote[:0]
		for i := start; i < end; i++ {
			ok[i] = false
			if len(bufs[i]) == 0 {
				continue
			}
			local = append(local, unix.Iovec{Base: unsafe.SliceData(bufs[i]), Len: uint64(len(bufs[i]))})
			remote = append(remote, unix.RemoteIovec{Base: uintptr(addrs[i]), Len: len(bufs[i])})
		}
		n, err := unix.ProcessVMReadv(m.PID, local, remote, 0)
		if errors.Is(err, unix.ESRCH) {
			return ErrGone
		}
		// The kernel stops at the first buffer it cannot read (a partial
		// read or an error). Mark what was read, skip the failed one and
		// go on with the rest.
		done := start
		for i := start; i < end && n >= 0; i++ {
			if len(bufs[i]) == 0 {
				done = i + 1
				continue
			}
			if n < len(bufs[i]) {
				break
			}
			n -= len(bufs[i])
			ok[i] = true
			done = i + 1
		}
		if err != nil && !errors.Is(err, unix.EFAULT) && !errors.Is(err, unix.EIO) && !errors.Is(err, unix.ENOMEM) {
			return fmt.Errorf("process_vm_readv pid %d: %w", m.PID, err)
		}
		if done < end && !ok[done] {
			done++ // the buffer the kernel stopped at stays not ok
		}
		start = done
	}
	return nil
}

// readWord reads one little-endian uint64.
func readWord(m Memory, addr uint64) (uint64, bool, error) {
	var buf [8]byte
	ok := []bool{false}
	if err := m.ReadBatch([]uint64{addr}, [][]byte{buf[:]}, ok); err != nil {
		return 0, false, err
	}
	return binary.LittleEndian.Uint64(buf[:]), ok[0], nil
}
