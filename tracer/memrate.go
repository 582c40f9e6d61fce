package tracer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// maxPlausibleRate bounds what runtime.MemProfileRate can hold before a
// write: anything else means the address is not that variable, and writing
// would corrupt the target.
const maxPlausibleRate = 1 << 30

// ProfileRate is runtime.MemProfileRate of one process, at its runtime
// address (link-time address plus the PIE load bias).
type ProfileRate struct {
	PID  uint32
	Addr uint64
}

// Read returns the current value of runtime.MemProfileRate.
func (r ProfileRate) Read() (int64, error) {
	return r.read()
}

// Set writes v to runtime.MemProfileRate and returns the previous value.
// The old value is read first and must be a plausible rate; the new one is
// read back to verify the write.
//
// Memory is accessed with process_vm_readv/writev, which need ptrace
// access to the target (CAP_SYS_PTRACE for another user's process) but,
// unlike /proc/PID/mem, no file permission on it (CAP_DAC_OVERRIDE).
func (r ProfileRate) Set(v int64) (old int64, err error) {
	if v < 0 || v > maxPlausibleRate {
		return 0, fmt.Errorf("memprofilerate %d out of range [0, %d]", v, maxPlausibleRate)
	}
	old, err = r.read()
	if err != nil {
		return 0, err
	}
	if old < 0 || old > maxPlausibleRate {
		return old, fmt.Errorf("runtime.MemProfileRate at %#x of pid %d holds %d, not a plausible rate: refusing to write", r.Addr, r.PID, old)
	}
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(v))
	// One aligned 8-byte copy: the runtime sees the old or the new value.
	n, err := unix.ProcessVMWritev(int(r.PID), []unix.Iovec{iovec(buf[:])}, []unix.RemoteIovec{{Base: uintptr(r.Addr), Len: 8}}, 0)
	if err != nil || n != 8 {
		return old, fmt.Errorf("writing runtime.MemProfileRate of pid %d: %d bytes written: %w", r.PID, n, memErr(err))
	}
	got, err := r.read()
	if err != nil {
		return old, err
	}
	if got != v {
		return old, fmt.Errorf("runtime.MemProfileRate of pid %d reads %d after writing %d", r.PID, got, v)
	}
	return old, nil
}

func (r ProfileRate) read() (int64, error) {
	if r.Addr%8 != 0 {
		return 0, fmt.Errorf("address %#x of runtime.MemProfileRate is not 8-byte aligned", r.Addr)
	}
	var buf [8]byte
	n, err := unix.ProcessVMReadv(int(r.PID), []unix.Iovec{iovec(buf[:])}, []unix.RemoteIovec{{Base: uintptr(r.Addr), Len: 8}}, 0)
	if err != nil || n != 8 {
		return 0, fmt.Errorf("reading runtime.MemProfileRate of pid %d at %#x: %d bytes read: %w", r.PID, r.Addr, n, memErr(err))
	}
	return int64(binary.LittleEndian.Uint64(buf[:])), nil
}

func iovec(b []byte) unix.Iovec {
	v := unix.Iovec{Base: &b[0]}
	v.SetLen(len(b))
	return v
}

// memErr names the usual failures of process_vm_readv/writev.
func memErr(err error) error {
	switch {
	case err == nil:
		return errors.New("short transfer")
	case errors.Is(err, unix.ESRCH):
		return fmt.Errorf("the process has exited: %w", err)
	case errors.Is(err, unix.EPERM):
		return withPermissionHint(fmt.Errorf("no ptrace access to the process: %w", os.ErrPermission))
	}
	return err
}
